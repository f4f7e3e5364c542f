extension Collection<UInt8> {
    /// Whether these bytes spell `lowercase` (written in lower case) ignoring ASCII case, as field names, connection
    /// options and host names compare (RFC 9110 §5.1, §7.6.1; RFC 3986 §3.2.2), without a lower-cased copy: it runs
    /// for every header of every request and answer.
    @inlinable
    public func equalsIgnoringASCIICase(_ lowercase: String) -> Bool {
        guard count == lowercase.utf8.count else { return false }
        for (byte, expected) in zip(self, lowercase.utf8) {
            let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            if folded != expected { return false }
        }
        return true
    }
}

extension StringProtocol {
    /// See `Collection.equalsIgnoringASCIICase(_:)`.
    @inlinable
    public func equalsIgnoringASCIICase(_ lowercase: String) -> Bool {
        utf8.equalsIgnoringASCIICase(lowercase)
    }

    /// This value without the spaces and tabs around it (RFC 9110 §5.5 OWS).
    public func trimmingSpacesAndTabs() -> SubSequence {
        var start = startIndex
        var end = endIndex
        while start < end, self[start] == " " || self[start] == "\t" { start = index(after: start) }
        while end > start, self[index(before: end)] == " " || self[index(before: end)] == "\t" {
            end = index(before: end)
        }
        return self[start..<end]
    }
}
