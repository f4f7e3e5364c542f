import Logging

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

    package init(
        timestamp: Double, level: Logger.Level, message: String, label: String, metadata: Logger.Metadata
    ) {
        self.timestamp = timestamp
        self.level = level
        self.message = message
        self.label = label
        self.metadata = metadata
    }

    /// Appends the line, newline included.
    package func write(_ style: Style, to out: inout [UInt8]) {
        switch style {
        case .json:
            out.append(contentsOf: #"{"ts":""#.utf8)
            Self.appendTimestamp(timestamp, to: &out)
            out.append(contentsOf: #"","level":""#.utf8)
            out.append(contentsOf: level.rawValue.utf8)
            out.append(contentsOf: #"","msg":"#.utf8)
            Self.appendJSONString(message, to: &out)
            out.append(contentsOf: #","logger":"#.utf8)
            Self.appendJSONString(label, to: &out)
            if let record = Self.accessRecord(metadata) {
                record.appendJSONMembers(to: &out)
                out.append(contentsOf: "}\n".utf8)
                return
            }
            // In the dictionary's order: sorting cost more than the rest of the line, and JSON readers do not care.
            for (key, value) in metadata {
                out.append(UInt8(ascii: ","))
                Self.appendJSONString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                Self.appendJSON(value, to: &out)
            }
            out.append(contentsOf: "}\n".utf8)
        case .text:
            Self.appendTimestamp(timestamp, to: &out)
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: level.rawValue.utf8)
            out.append(UInt8(ascii: " "))
            Self.appendVisible(label, to: &out)
            out.append(contentsOf: ": ".utf8)
            Self.appendVisible(message, to: &out)
            if let record = Self.accessRecord(metadata) {
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

    /// The access log's typed record, when the metadata is just that.
    private static func accessRecord(_ metadata: Logger.Metadata) -> AccessRecord? {
        guard metadata.count == 1, case .stringConvertible(let value)? = metadata.first?.value,
            ObjectIdentifier(type(of: value)) == ObjectIdentifier(AccessRecord.self)
        else { return nil }
        return value as? AccessRecord
    }

    // MARK: - Time

    /// `2026-12-01T02:13:20.123Z` from seconds since 1970.
    package static func appendTimestamp(_ time: Double, to out: inout [UInt8]) {
        let milliseconds = Int64((time * 1000).rounded(.down))
        let (days, msOfDay) = milliseconds.quotientAndRemainder(dividingBy: 86_400_000)
        let (year, month, day) = civil(fromDays: Int(days) - (msOfDay < 0 ? 1 : 0))
        let ms = Int(msOfDay < 0 ? msOfDay + 86_400_000 : msOfDay)
        // Composed in a buffer on the stack and appended once: an append per digit cost more than the arithmetic.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { text in
            var index = 0
            func put(_ value: Int, _ width: Int, then separator: UInt8) {
                var divisor = 1
                for _ in 1..<width { divisor *= 10 }
                while divisor > 0 {
                    text[index] = UInt8(ascii: "0") + UInt8(value / divisor % 10)
                    index += 1
                    divisor /= 10
                }
                text[index] = separator
                index += 1
            }
            put(year, 4, then: UInt8(ascii: "-"))
            put(month, 2, then: UInt8(ascii: "-"))
            put(day, 2, then: UInt8(ascii: "T"))
            put(ms / 3_600_000, 2, then: UInt8(ascii: ":"))
            put(ms / 60_000 % 60, 2, then: UInt8(ascii: ":"))
            put(ms / 1000 % 60, 2, then: UInt8(ascii: "."))
            put(ms % 1000, 3, then: UInt8(ascii: "Z"))
            // The filled part of the stack buffer, in one append.
            out.append(contentsOf: UnsafeBufferPointer(rebasing: text[..<index]))
        }
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `civil_from_days`).
    package static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func appendDigits(_ value: Int, _ width: Int, to out: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
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

    /// RFC 8259 §7: quote, backslash and controls escaped; everything else, UTF-8 included, as it is. A string with
    /// nothing to escape (nearly all) is copied in one piece.
    package static func appendJSONString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { bytes in
            var clean = true
            for byte in bytes where needsEscape(byte) {
                clean = false
                break
            }
            if clean {
                out.append(contentsOf: bytes)
                return
            }
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
                case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
                case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
                case UInt8(ascii: "\r"): out.append(contentsOf: #"\r"#.utf8)
                case UInt8(ascii: "\t"): out.append(contentsOf: #"\t"#.utf8)
                case 0..<0x20, 0x7F:
                    out.append(contentsOf: #"\u00"#.utf8)
                    out.append(hex(byte >> 4))
                    out.append(hex(byte & 0xF))
                default: out.append(byte)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// A whole number as digits, any other as Swift prints it; non-finite values have no JSON form and go as
    /// strings.
    package static func appendJSONNumber(_ value: Double, to out: inout [UInt8]) {
        guard value.isFinite else {
            appendJSONString(value.description, to: &out)
            return
        }
        if value == value.rounded(), abs(value) < 1e15 {
            Int64(value).appendJSON(to: &out)
        } else {
            out.append(contentsOf: value.description.utf8)
        }
    }

    package static func appendInteger(_ value: Int64, to out: inout [UInt8]) { value.appendJSON(to: &out) }

    /// Milliseconds as `12.345` (three decimals, microseconds), without going through `String(Double)`.
    package static func appendMilliseconds(_ value: Double, to out: inout [UInt8]) {
        guard value.isFinite, abs(value) < 1e12 else {
            appendJSONNumber(value, to: &out)
            return
        }
        let microseconds = Int64((value * 1000).rounded())
        if microseconds < 0 { out.append(UInt8(ascii: "-")) }
        let (whole, fraction) = abs(microseconds).quotientAndRemainder(dividingBy: 1000)
        whole.appendJSON(to: &out)
        out.append(UInt8(ascii: "."))
        appendDigits(Int(fraction), 3, to: &out)
    }

    @inline(__always)
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == 0x7F
    }

    private static func hex(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
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
    /// Decimal digits straight into the buffer, no String in between.
    fileprivate func appendJSON(to out: inout [UInt8]) {
        if self < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = UInt64(self.magnitude)
        var divisor: UInt64 = 1
        while divisor <= magnitude / 10 { divisor *= 10 }
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(magnitude / divisor))
            magnitude %= divisor
            divisor /= 10
        }
    }
}
