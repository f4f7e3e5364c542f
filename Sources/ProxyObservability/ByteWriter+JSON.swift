import ProxySupport

/// The log line's formats, written through `ByteWriter` into memory sized for the worst case first (see the bounds):
/// an access line costs one append to the writer's batch, not one per key, quote and digit. Each format lives here
/// once; `LogLine`'s array-based helpers are this writer sized for one value.
extension ByteWriter {
    /// Upper bounds for sizing: any escaped string is at most six bytes per byte (`\u001f`) and its quotes; a number
    /// as Swift prints a `Double` (`-2.2250738585072014e-308`), or an `Int64`, fits 32; a timestamp is 24.
    static func jsonStringBound(_ string: String) -> Int { string.utf8.count * 6 + 2 }
    static let numberBound = 32
    static let timestampBound = 24

    /// RFC 8259 §7: quote, backslash and controls escaped; everything else, UTF-8 included, as it is.
    mutating func jsonString(_ string: String) {
        write(UInt8(ascii: "\""))
        // The string's own contiguous UTF-8, which every native string has; one bridged from elsewhere is copied out.
        if string.utf8.withContiguousStorageIfAvailable({ escaped($0) }) == nil {
            Array(string.utf8).withUnsafeBufferPointer { escaped($0) }
        }
        write(UInt8(ascii: "\""))
    }

    /// Read once to decide and once to copy: nearly every string has nothing to escape and goes in one piece.
    private mutating func escaped(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard Self.needsEscaping(bytes) else { return write(UnsafeRawBufferPointer(bytes)) }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): write(#"\""#)
            case UInt8(ascii: "\\"): write(#"\\"#)
            case UInt8(ascii: "\n"): write(#"\n"#)
            case UInt8(ascii: "\r"): write(#"\r"#)
            case UInt8(ascii: "\t"): write(#"\t"#)
            case 0..<0x20, 0x7F:
                write(#"\u00"#)
                write(Self.hex(byte >> 4))
                write(Self.hex(byte & 0xF))
            default: write(byte)
            }
        }
    }

    /// Decimal digits, no String in between.
    mutating func integer(_ value: Int64) {
        if value < 0 { write(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var divisor: UInt64 = 1
        while divisor <= magnitude / 10 { divisor *= 10 }
        while divisor > 0 {
            write(UInt8(ascii: "0") + UInt8(magnitude / divisor))
            magnitude %= divisor
            divisor /= 10
        }
    }

    /// Exactly `width` digits, leading zeros kept (a timestamp's fields, a fraction).
    mutating func digits(_ value: Int, width: Int) {
        let out = claim(width)
        var rest = value
        var index = width
        while index > 0 {
            index -= 1
            out.storeBytes(of: UInt8(ascii: "0") + UInt8(rest % 10), toByteOffset: index, as: UInt8.self)
            rest /= 10
        }
    }

    /// A whole number as digits, any other as Swift prints it; non-finite values have no JSON form and go as
    /// strings.
    mutating func number(_ value: Double) {
        guard value.isFinite else { return jsonString(value.description) }
        if value == value.rounded(), abs(value) < 1e15 { return integer(Int64(value)) }
        write(contentsOf: value.description)
    }

    /// Milliseconds as `12.345` (three decimals, microseconds), without going through `String(Double)`.
    mutating func milliseconds(_ value: Double) {
        guard value.isFinite, abs(value) < 1e12 else { return number(value) }
        let microseconds = Int64((value * 1000).rounded())
        if microseconds < 0 { write(UInt8(ascii: "-")) }
        let (whole, fraction) = abs(microseconds).quotientAndRemainder(dividingBy: 1000)
        integer(whole)
        write(UInt8(ascii: "."))
        digits(Int(fraction), width: 3)
    }

    /// `2026-12-01T02:13:20.123Z` (RFC 3339, milliseconds, UTC) from seconds since 1970.
    mutating func timestamp(_ time: Double) {
        var cache = TimestampCache()
        timestamp(time, cache: &cache)
    }

    /// The same, the date and time of day to the second taken from `cache` when it holds that second: the log's
    /// writer formats its lines in batches, most of a batch within one second.
    mutating func timestamp(_ time: Double, cache: inout TimestampCache) {
        let milliseconds = Int64((time * 1000).rounded(.down))
        // Floor division: a time before 1970 is in the second that starts before it.
        let second = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        if second != cache.second {
            cache.second = second
            // The cache's own memory, 24 bytes, written through a writer of its own.
            withUnsafeMutableBytes(of: &cache.text) { memory in
                var prefix = ByteWriter(memory)
                prefix.secondOfTime(second)
            }
        }
        // Read back as bytes.
        withUnsafeBytes(of: cache.text) { write(UnsafeRawBufferPointer(rebasing: $0[..<TimestampCache.length])) }
        write(UInt8(ascii: "."))
        digits(Int(milliseconds - second * 1000), width: 3)
        write(UInt8(ascii: "Z"))
    }

    /// `2026-12-01T02:13:20`: 19 bytes.
    private mutating func secondOfTime(_ second: Int64) {
        let (days, secondOfDay) = second.quotientAndRemainder(dividingBy: 86_400)
        let (year, month, day) = Self.civil(fromDays: Int(days) - (secondOfDay < 0 ? 1 : 0))
        let seconds = Int(secondOfDay < 0 ? secondOfDay + 86_400 : secondOfDay)
        digits(year, width: 4)
        write(UInt8(ascii: "-"))
        digits(month, width: 2)
        write(UInt8(ascii: "-"))
        digits(day, width: 2)
        write(UInt8(ascii: "T"))
        digits(seconds / 3600, width: 2)
        write(UInt8(ascii: ":"))
        digits(seconds / 60 % 60, width: 2)
        write(UInt8(ascii: ":"))
        digits(seconds % 60, width: 2)
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `civil_from_days`).
    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
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

    /// Whether any byte needs escaping, eight bytes a step (a byte loop cost 19 instructions a byte).
    static func needsEscaping(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        // The same bytes, read as words.
        WordScan.contains(
            UnsafeRawBufferPointer(bytes),
            wordMayMatch: {
                WordScan.hasByte(below: 0x20, in: $0) || WordScan.hasByte(UInt8(ascii: "\""), in: $0)
                    || WordScan.hasByte(UInt8(ascii: "\\"), in: $0) || WordScan.hasByte(0x7F, in: $0)
            },
            byteMatches: needsEscape)
    }

    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == 0x7F
    }

    private static func hex(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}

/// The last second a timestamp was written for, formatted (see `ByteWriter.timestamp(_:cache:)`).
package struct TimestampCache {
    static let length = 19
    fileprivate var second = Int64.min
    /// 24 bytes of room for the 19.
    fileprivate var text: (UInt64, UInt64, UInt64) = (0, 0, 0)

    package init() {}
}
