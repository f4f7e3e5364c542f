/// A parsed JSON document that keeps the difference between booleans, numbers and strings, so config validation
/// can name the exact type it found.
package enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// How the value reads in an error message.
    package var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Parses strict JSON (RFC 8259). Mistakes a lenient parser would let through are refused with their line and
    /// column: trailing commas, and a key given twice in one object (JSON Schema validators keep the last value,
    /// Foundation kept the first, so an editor would check a different config from the one the proxy ran).
    package static func parse(_ bytes: [UInt8]) throws(ConfigError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        return try parser.document()
    }
}

/// Recursive descent over UTF-8 bytes, tracking the key path for duplicate keys.
private struct JSONParser {
    let bytes: [UInt8]
    var index = 0
    var path: [String] = []

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() throws(ConfigError) -> JSONValue {
        // A UTF-8 byte order mark, as some editors write, is not JSON but harmless.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        skipSpace()
        let value = try self.value(depth: 0)
        skipSpace()
        guard index == bytes.count else { throw syntax("unexpected text after the end of the document") }
        return value
    }

    private mutating func value(depth: Int) throws(ConfigError) -> JSONValue {
        guard depth < 64 else { throw syntax("nested too deeply") }
        guard index < bytes.count else { throw syntax("unexpected end of the file") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw syntax("expected a value")
        }
    }

    private mutating func object(depth: Int) throws(ConfigError) -> JSONValue {
        index += 1
        var members: [String: JSONValue] = [:]
        skipSpace()
        if peek(UInt8(ascii: "}")) {
            index += 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard peek(UInt8(ascii: "\"")) else {
                throw syntax(peek(UInt8(ascii: "}")) ? "trailing comma before '}'" : "expected a key in double quotes")
            }
            let keyStart = index
            let key = try string()
            if members[key] != nil {
                let at = position(keyStart)
                throw ConfigError(
                    (path + [key]).joined(separator: "."),
                    "duplicate key at line \(at.line), column \(at.column); give each key once")
            }
            skipSpace()
            guard peek(UInt8(ascii: ":")) else { throw syntax("expected ':' after the key") }
            index += 1
            skipSpace()
            path.append(key)
            members[key] = try value(depth: depth + 1)
            path.removeLast()
            skipSpace()
            if peek(UInt8(ascii: ",")) {
                index += 1
                continue
            }
            guard peek(UInt8(ascii: "}")) else { throw syntax("expected ',' or '}'") }
            index += 1
            return .object(members)
        }
    }

    private mutating func array(depth: Int) throws(ConfigError) -> JSONValue {
        index += 1
        var items: [JSONValue] = []
        skipSpace()
        if peek(UInt8(ascii: "]")) {
            index += 1
            return .array(items)
        }
        while true {
            skipSpace()
            if peek(UInt8(ascii: "]")) { throw syntax("trailing comma before ']'") }
            path.append("\(path.popLast() ?? "")[\(items.count)]")
            items.append(try value(depth: depth + 1))
            let last = path.removeLast()
            path.append(String(last[..<(last.lastIndex(of: "[") ?? last.endIndex)]))
            skipSpace()
            if peek(UInt8(ascii: ",")) {
                index += 1
                continue
            }
            guard peek(UInt8(ascii: "]")) else { throw syntax("expected ',' or ']'") }
            index += 1
            return .array(items)
        }
    }

    private mutating func string() throws(ConfigError) -> String {
        index += 1
        var out: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                // RFC 8259 §8.1: JSON text is UTF-8; a string that is not would reach the config repaired.
                guard let text = String(validating: out, as: UTF8.self) else {
                    throw syntax("a string that is not valid UTF-8")
                }
                index += 1
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar), bytes[index...].starts(with: Array("\\u".utf8)) {
                        index += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw syntax("invalid surrogate pair") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw syntax("invalid \\u escape") }
                    out.append(contentsOf: String(Character(unicode)).utf8)
                default:
                    index -= 1
                    throw syntax("invalid escape in a string")
                }
            case 0..<0x20:
                throw syntax("control character in a string (write it as an escape)")
            default:
                out.append(byte)
                index += 1
            }
        }
        throw syntax("unterminated string")
    }

    private mutating func hex4() throws(ConfigError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw syntax("invalid \\u escape") }
        var value: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw syntax("invalid \\u escape")
            }
            value = value * 16 + digit
        }
        index += 4
        return value
    }

    private mutating func number() throws(ConfigError) -> Double {
        let start = index
        if peek(UInt8(ascii: "-")) { index += 1 }
        guard digits() > 0 else { throw syntax("invalid number") }
        if bytes[start...].starts(with: Array("0".utf8)) || bytes[start...].starts(with: Array("-0".utf8)),
            index - start > (bytes[start] == UInt8(ascii: "-") ? 2 : 1)
        {
            index = start
            throw syntax("invalid number (no leading zeros)")
        }
        if peek(UInt8(ascii: ".")) {
            index += 1
            guard digits() > 0 else { throw syntax("invalid number") }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            index += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
            guard digits() > 0 else { throw syntax("invalid number") }
        }
        guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else {
            throw syntax("invalid number")
        }
        // Beyond a double's range it would read as infinity (RFC 8259 §6 lets a parser set the limits).
        guard value.isFinite else {
            index = start
            throw syntax("number too large")
        }
        return value
    }

    private mutating func digits() -> Int {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return index - start
    }

    private mutating func literal(_ word: String, _ value: JSONValue) throws(ConfigError) -> JSONValue {
        guard bytes[index...].starts(with: Array(word.utf8)) else { throw syntax("expected a value") }
        index += word.utf8.count
        return value
    }

    private mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private func peek(_ byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

    /// Line and column (1-based, columns in characters) of a byte offset.
    private func position(_ offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        for (at, byte) in bytes[..<min(offset, bytes.count)].enumerated() where byte == 0x0A {
            line += 1
            lineStart = at + 1
        }
        let column = String(decoding: bytes[lineStart..<min(offset, bytes.count)], as: UTF8.self).count + 1
        return (line, column)
    }

    private func syntax(_ what: String) -> ConfigError {
        let at = position(index)
        return ConfigError("", "not valid JSON at line \(at.line), column \(at.column): \(what)")
    }
}
