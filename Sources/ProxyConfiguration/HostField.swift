/// A Host field value as RFC 9110 §7.2 and RFC 3986 §3.2.2 allow it: a registered name (unreserved characters) or a
/// bracketed IPv6 literal, then an optional decimal port. Anything else (`localhost:@evil.example`,
/// `localhost:evil.com`, `[::1]evil.com`) is refused, whatever the HTTP version, and what the proxy writes back (a
/// rewritten redirect) is built from these parts, never from the raw field.
package struct HostField {
    /// The name without brackets: `localhost`, `127.0.0.1`, `::1`.
    package let name: String
    package let port: Int?
    private let bracketed: Bool

    package init?(_ value: String) {
        var value = value
        // One pass over the bytes: this runs for every request (a walk over String's UTF-8 view with its index
        // arithmetic cost ten times as much).
        guard let (start, end, port, bracketed) = value.withUTF8({ Self.scan($0) }) else { return nil }
        name = value.withUTF8 { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<end]), as: UTF8.self) }
        self.port = port
        self.bracketed = bracketed
    }

    /// The name's byte range, the port, and whether the name was bracketed; nil for anything but `name[:port]`.
    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> (Int, Int, Int?, Bool)? {
        guard let first = bytes.first else { return nil }
        var index = 0
        let start: Int
        let end: Int
        var colons = 0
        if first == UInt8(ascii: "[") {
            // An IPv6 literal: hex digits, colons and (for an embedded IPv4 address) dots; no zone identifier.
            index = 1
            while index < bytes.count, bytes[index] != UInt8(ascii: "]") {
                let byte = bytes[index]
                guard byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".") || byte.isHexDigit else { return nil }
                if byte == UInt8(ascii: ":") { colons += 1 }
                index += 1
            }
            guard index < bytes.count, index > 1, colons > 0 else { return nil }
            (start, end) = (1, index)
            index += 1
        } else {
            while index < bytes.count, bytes[index] != UInt8(ascii: ":") {
                guard bytes[index].isUnreserved else { return nil }
                index += 1
            }
            guard index > 0 else { return nil }
            (start, end) = (0, index)
        }
        guard index < bytes.count else { return (start, end, nil, first == UInt8(ascii: "[")) }
        guard bytes[index] == UInt8(ascii: ":") else { return nil }
        let digits = bytes.count - index - 1
        guard (1...5).contains(digits) else { return nil }
        var port = 0
        for byte in bytes[(index + 1)...] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            port = port * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard port <= 65535 else { return nil }
        return (start, end, port, first == UInt8(ascii: "["))
    }

    /// `name[:port]`, rebuilt from the parsed parts.
    package var authority: String {
        let host = bracketed ? "[\(name)]" : name
        return port.map { "\(host):\($0)" } ?? host
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (48...57).contains(self) || (65...70).contains(self) || (97...102).contains(self)
    }

    /// RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~".
    fileprivate var isUnreserved: Bool {
        (48...57).contains(self) || (65...90).contains(self) || (97...122).contains(self) || self == 45 || self == 46
            || self == 95 || self == 126
    }
}
