import Logging
import ProxySupport

/// One log line, formatted into a reused byte buffer: the timestamp from the clock by hand (RFC 3339, milliseconds,
/// UTC), strings escaped once, numbers and booleans as themselves. No formatter or serialiser object per line: the
/// Foundation ones cost more than the whole request they describe.
public struct LogLine: Sendable {
    public enum Style: Sendable {
        /// One JSON object per line: `ts`, `level`, `msg`, `logger`, then the metadata in key order.
        case json
        /// `ts level logger: msg key=value …`, values quoted when they hold spaces, quotes or controls.
        case text
    }

    package var timestamp: Double
    package var level: Logger.Level
    package var message: String
    package var label: String
    package var metadata: Logger.Metadata
    /// The access log's line (`AccessLog`): its fields, written as the line's members after the fixed ones.
    package var record: AccessRecord?

    package init(
        timestamp: Double, level: Logger.Level, message: String, label: String, metadata: Logger.Metadata,
        record: AccessRecord? = nil
    ) {
        self.timestamp = timestamp
        self.level = level
        self.message = message
        self.label = label
        self.metadata = metadata
        self.record = record
    }

    /// Appends the line, newline included.
    package func write(_ style: Style, to out: inout [UInt8]) {
        var cache = TimestampCache()
        write(style, to: &out, cache: &cache)
    }

    /// The same, with the timestamp's second from `cache` when it is the last one written (`LogWriter`'s batches).
    package func write(_ style: Style, to out: inout [UInt8], cache: inout TimestampCache) {
        switch style {
        case .json:
            if let record {
                // The access line, the one written per request, composed whole.
                let bound = headBound + record.jsonMembersBound + 2
                ByteWriter.append(to: &out, atMost: bound) { writer in
                    writeHead(to: &writer, cache: &cache)
                    record.writeJSONMembers(to: &writer)
                    writer.write("}\n")
                }
                return
            }
            ByteWriter.append(to: &out, atMost: headBound) { writeHead(to: &$0, cache: &cache) }
            // In the dictionary's order: sorting cost more than the rest of the line, and JSON readers do not care.
            for (key, value) in metadata {
                out.append(UInt8(ascii: ","))
                Self.appendJSONString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                Self.appendJSON(value, to: &out)
            }
            out.append(contentsOf: "}\n".utf8)
        case .text:
            ByteWriter.append(to: &out, atMost: ByteWriter.timestampBound) { $0.timestamp(timestamp, cache: &cache) }
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: level.rawValue.utf8)
            out.append(UInt8(ascii: " "))
            Self.appendVisible(label, to: &out)
            out.append(contentsOf: ": ".utf8)
            Self.appendVisible(message, to: &out)
            if let record {
                out.append(UInt8(ascii: " "))
                out.append(contentsOf: record.description.utf8)
                out.append(UInt8(ascii: "\n"))
                return
            }
            for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
                out.append(UInt8(ascii: " "))
                Self.appendText(key, to: &out)
                out.append(UInt8(ascii: "="))
                Self.appendText(value, to: &out)
            }
            out.append(UInt8(ascii: "\n"))
        }
    }

    /// `{"ts":"…","level":"…","msg":…,"logger":…`: 37 bytes of keys and quotes, a timestamp, a level's name (at most
    /// 8 bytes) and two strings.
    private var headBound: Int {
        37 + ByteWriter.timestampBound + 8 + ByteWriter.jsonStringBound(message) + ByteWriter.jsonStringBound(label)
    }

    private func writeHead(to writer: inout ByteWriter, cache: inout TimestampCache) {
        writer.write(#"{"ts":""#)
        writer.timestamp(timestamp, cache: &cache)
        writer.write(#"","level":""#)
        writer.write(contentsOf: level.rawValue)
        writer.write(#"","msg":"#)
        writer.jsonString(message)
        writer.write(#","logger":"#)
        writer.jsonString(label)
    }

    // MARK: - Values

    private static func appendJSON(_ value: Logger.MetadataValue, to out: inout [UInt8]) {
        switch value {
        case .string(let string):
            appendJSONString(string, to: &out)
        case .stringConvertible(let convertible):
            // Compared by type first, so a value costs at most one cast: a conformance check or a cast per number
            // type cost more than formatting the whole line.
            switch ObjectIdentifier(type(of: convertible)) {
            case ObjectIdentifier(Int.self): (convertible as? Int)?.appendJSON(to: &out)
            case ObjectIdentifier(Int64.self): (convertible as? Int64)?.appendJSON(to: &out)
            case ObjectIdentifier(Double.self): (convertible as? Double).map { appendJSONNumber($0, to: &out) }
            case ObjectIdentifier(Bool.self): (convertible as? Bool)?.appendJSON(to: &out)
            default: appendJSONString(convertible.description, to: &out)
            }
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendJSON(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .dictionary(let object):
            out.append(UInt8(ascii: "{"))
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendJSONString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                appendJSON(object[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// RFC 8259 §7, as `ByteWriter.jsonString` writes it.
    package static func appendJSONString(_ string: String, to out: inout [UInt8]) {
        ByteWriter.append(to: &out, atMost: ByteWriter.jsonStringBound(string)) { $0.jsonString(string) }
    }

    /// A whole number as digits, any other as Swift prints it, non-finite as a string (`ByteWriter.number`).
    package static func appendJSONNumber(_ value: Double, to out: inout [UInt8]) {
        ByteWriter.append(to: &out, atMost: ByteWriter.numberBound) { $0.number(value) }
    }

    /// A text value as it is when it is one plain word, else JSON-quoted (so a reader can still split the line).
    private static func appendText(_ value: Logger.MetadataValue, to out: inout [UInt8]) {
        switch value {
        case .string(let string): appendText(string, to: &out)
        case .stringConvertible(let convertible): appendText(convertible.description, to: &out)
        case .array, .dictionary: appendJSON(value, to: &out)
        }
    }

    /// Text as it is, but a control byte as its JSON escape: one log line stays one line whatever it says.
    package static func appendVisible(_ text: String, to out: inout [UInt8]) {
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return out.append(contentsOf: text.utf8) }
        var quoted: [UInt8] = []
        appendJSONString(text, to: &quoted)
        out.append(contentsOf: quoted.dropFirst().dropLast())
    }

    package static func appendText(_ text: String, to out: inout [UInt8]) {
        let plain = !text.isEmpty && text.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "\"") }
        if plain { out.append(contentsOf: text.utf8) } else { appendJSONString(text, to: &out) }
    }
}

extension Bool {
    fileprivate func appendJSON(to out: inout [UInt8]) { out.append(contentsOf: (self ? "true" : "false").utf8) }
}

extension BinaryInteger {
    fileprivate func appendJSON(to out: inout [UInt8]) {
        let value = Int64(clamping: self)
        ByteWriter.append(to: &out, atMost: ByteWriter.numberBound) { $0.integer(value) }
    }
}
