extension StringProtocol {
    /// Whether this is the field name `lowercase` (written in lower case), ignoring ASCII case as RFC 9110 §5.1
    /// asks, without allocating: it runs for every header of every request and answer.
    @inlinable
    public func isFieldName(_ lowercase: String) -> Bool {
        guard utf8.count == lowercase.utf8.count else { return false }
        for (byte, expected) in zip(utf8, lowercase.utf8) {
            let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            if folded != expected { return false }
        }
        return true
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
