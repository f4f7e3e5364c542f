/// Byte tests eight bytes at a time, for the scans that run over every byte of every request or answer: a byte loop
/// costs five to twenty instructions a byte, a word test about two. Each test says exactly whether some byte of the
/// word matches (a borrow can only mark a byte above one that matched, so a yes is never wrong as a yes); where it
/// is, the caller finds with a byte loop over that word.
public enum WordScan {
    public static let ones: UInt64 = 0x0101_0101_0101_0101
    public static let highs: UInt64 = 0x8080_8080_8080_8080

    /// Whether a byte of `word` is below `limit` (at most 0x80).
    @inlinable
    public static func hasByte(below limit: UInt8, in word: UInt64) -> Bool {
        (word &- ones &* UInt64(limit)) & ~word & highs != 0
    }

    /// Whether a byte of `word` is `byte`.
    @inlinable
    public static func hasByte(_ byte: UInt8, in word: UInt64) -> Bool {
        marks(ofByte: byte, in: word) != 0
    }

    /// The high bit of each byte of `word` that is `byte`, counted from the lowest such byte: in `word ^ byte…` a
    /// match is a zero byte, and `(x - 0x01…) & ~x & 0x80…` marks the lowest zero byte exactly (a borrow can only
    /// mark bytes above it).
    @inlinable
    static func marks(ofByte byte: UInt8, in word: UInt64) -> UInt64 {
        let zeroWhereEqual = word ^ (ones &* UInt64(byte))
        return (zeroWhereEqual &- ones) & ~zeroWhereEqual & highs
    }

    /// Where the first `byte` at or after `start` is, or `bytes.count`. The loads are little-endian, so the lowest
    /// marked byte of a word is its first match.
    @inlinable
    public static func firstIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        while index + 8 <= bytes.count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let found = marks(ofByte: byte, in: word)
            if found != 0 { return index + found.trailingZeroBitCount / 8 }
            index += 8
        }
        while index < bytes.count, bytes[index] != byte { index += 1 }
        return index
    }

    /// Whether `bytes` has a byte for which `byteMatches` holds, testing eight at a time with `wordMayMatch` first
    /// (which must be true of any word with such a byte; it may be true of others).
    @inlinable
    public static func contains(
        _ bytes: UnsafeRawBufferPointer, wordMayMatch: (UInt64) -> Bool, byteMatches: (UInt8) -> Bool
    ) -> Bool {
        var index = 0
        while index + 8 <= bytes.count {
            if wordMayMatch(bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)) {
                for offset in index..<index + 8 where byteMatches(bytes[offset]) { return true }
            }
            index += 8
        }
        while index < bytes.count {
            if byteMatches(bytes[index]) { return true }
            index += 1
        }
        return false
    }
}
