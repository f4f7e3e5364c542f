/// Assembles response heads from the header lines curl reports, skipping 1xx interim heads.
struct CurlHeadParser {
    private(set) var status = 0
    private(set) var reason = ""
    private(set) var headers: [(name: String, value: String)] = []

    /// Feeds one raw header line (with its CRLF). Returns a head when a final one is complete.
    mutating func feed(_ line: [UInt8]) -> CurlResponseHead? {
        var end = line.count
        while end > 0, line[end - 1] == UInt8(ascii: "\n") || line[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let text = String(decoding: line[0..<end], as: UTF8.self)
        if end == 0 {
            // A blank line ends a head; 1xx heads are interim and replaced by the next one.
            guard status >= 200 else {
                reset()
                return nil
            }
            return CurlResponseHead(status: status, reason: reason, headers: headers)
        }
        if text.hasPrefix("HTTP/") {
            reset()
            let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            reason = parts.count > 2 ? String(parts[2]) : ""
            return nil
        }
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let name = String(text[..<colon])
        let value = text[text.index(after: colon)...].trimmingSpacesAndTabs()
        headers.append((name, value))
        return nil
    }

    private mutating func reset() {
        status = 0
        reason = ""
        headers.removeAll(keepingCapacity: true)
    }
}

extension Substring {
    func trimmingSpacesAndTabs() -> String {
        var start = startIndex
        var end = endIndex
        while start < end, self[start] == " " || self[start] == "\t" { start = index(after: start) }
        while end > start, self[index(before: end)] == " " || self[index(before: end)] == "\t" {
            end = index(before: end)
        }
        return String(self[start..<end])
    }
}
