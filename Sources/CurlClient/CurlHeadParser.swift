/// Assembles response heads from the header lines curl reports, skipping 1xx interim heads, and refuses heads an
/// intermediary must not pass on (RFC 9112 §5.2, §6.3, RFC 9110 §7.8): `problem` then says why.
struct CurlHeadParser {
    private(set) var status = 0
    private(set) var reason = ""
    private(set) var headers: [(name: String, value: String)] = []
    /// Set when the upstream's answer is malformed or ambiguous; the transfer is then aborted.
    private(set) var problem: String?

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
            problem = framingProblem()
            return problem == nil ? CurlResponseHead(status: status, reason: reason, headers: headers) : nil
        }
        if text.hasPrefix("HTTP/") {
            reset()
            let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            reason = parts.count > 2 ? String(parts[2]) : ""
            // RFC 9110 §7.8: we never ask to switch protocols, so a 101 cannot be honoured.
            if status == 101 { problem = "an unrequested 101 Switching Protocols" }
            return nil
        }
        // RFC 9112 §5.2: a proxy must reject or replace obsolete line folding; we reject.
        if line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t") {
            problem = "a folded header line"
            return nil
        }
        guard let colon = text.firstIndex(of: ":") else {
            problem = "a header line without a colon"
            return nil
        }
        let name = String(text[..<colon])
        let value = text[text.index(after: colon)...].trimmingSpacesAndTabs()
        headers.append((name, value))
        return nil
    }

    /// RFC 9112 §6.3 rules 3 and 5: Content-Length together with Transfer-Encoding, or differing Content-Lengths,
    /// mean the message length cannot be known; a proxy must discard the answer and close the connection.
    private func framingProblem() -> String? {
        let lengths = Set(
            headers.filter { $0.name.lowercased() == "content-length" }
                .flatMap { $0.value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } })
        let chunked = headers.contains { $0.name.lowercased() == "transfer-encoding" }
        if chunked, !lengths.isEmpty { return "both Transfer-Encoding and Content-Length" }
        if lengths.count > 1 { return "conflicting Content-Length values" }
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
