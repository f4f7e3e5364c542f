import ProxySupport

/// Assembles response heads from the header lines curl reports, skipping 1xx interim heads, and refuses heads an
/// intermediary must not pass on (RFC 9112 §5.2, §6.3, RFC 9110 §7.8): `problem` then says why.
///
/// Works on the line's bytes as curl hands them over: it runs for every header line of every answer.
struct CurlHeadParser {
    private(set) var status = 0
    private(set) var reason = ""
    private(set) var fields = HeaderFields()
    /// Set when the upstream's answer is malformed or ambiguous; the transfer is then aborted.
    private(set) var problem: String?
    /// How many Content-Length fields, and whether the first is one plain number: the usual answer is settled from
    /// these without a `String` or an array; anything else is read back from `fields`.
    private var contentLengthFields = 0
    private var plainContentLength = false
    private var chunked = false

    /// Feeds one raw header line (with its CRLF). Returns a head when a final one is complete.
    mutating func feed(_ line: UnsafeRawBufferPointer) -> CurlResponseHead? {
        var end = line.count
        while end > 0, line[end - 1] == UInt8(ascii: "\n") || line[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        if end == 0 {
            // A blank line ends a head; 1xx heads are interim and replaced by the next one.
            guard status >= 200 else {
                reset()
                return nil
            }
            problem = settleFraming()
            return problem == nil ? CurlResponseHead(status: status, reason: reason, fields: fields) : nil
        }
        let text = UnsafeRawBufferPointer(rebasing: line[0..<end])
        if text.count > 5, text[0] == UInt8(ascii: "H"), text[1] == UInt8(ascii: "T"), text[2] == UInt8(ascii: "T"),
            text[3] == UInt8(ascii: "P"), text[4] == UInt8(ascii: "/")
        {
            reset()
            statusLine(text)
            // RFC 9110 §7.8: we never ask to switch protocols, so a 101 cannot be honoured.
            if status == 101 { problem = "an unrequested 101 Switching Protocols" }
            return nil
        }
        // RFC 9112 §5.2: a proxy must reject or replace obsolete line folding; we reject.
        if text[0] == UInt8(ascii: " ") || text[0] == UInt8(ascii: "\t") {
            problem = "a folded header line"
            return nil
        }
        // RFC 9110 §5.1: a name is a token, up to the colon. Walked by index, as every byte of every answer's
        // names and values is (the generic searches cost twice as much).
        var colon = 0
        while colon < text.count, text[colon].isHTTPTokenByte { colon += 1 }
        guard colon < text.count, text[colon] == UInt8(ascii: ":") else {
            problem = text.contains(UInt8(ascii: ":")) ? "an invalid header name" : "a header line without a colon"
            return nil
        }
        if colon == 0 {
            problem = "an invalid header name"
            return nil
        }
        // The value without the spaces and tabs around it, trimmed as bytes (one pass each way, no copy).
        var start = colon + 1
        var stop = text.count
        while start < stop, text[start] == UInt8(ascii: " ") || text[start] == UInt8(ascii: "\t") { start += 1 }
        while stop > start, text[stop - 1] == UInt8(ascii: " ") || text[stop - 1] == UInt8(ascii: "\t") { stop -= 1 }
        // RFC 9110 §5.5: CR, LF or NUL in a value must be rejected (or replaced): either could let a lenient client
        // read a header that was never sent. Other controls are no field value either, and a strict client refuses
        // the whole answer for one.
        // Eight bytes a step: values are most of an answer's head.
        let hasControl = WordScan.contains(
            UnsafeRawBufferPointer(rebasing: text[start..<stop]),
            wordMayMatch: { WordScan.hasByte(below: 0x20, in: $0) || WordScan.hasByte(0x7F, in: $0) },
            byteMatches: { ($0 < 0x20 && $0 != UInt8(ascii: "\t")) || $0 == 0x7F })
        if hasControl {
            problem = "a control character in a header value"
            return nil
        }
        // Room for a usual answer's fields at once, rather than growing field by field.
        if fields.count == 0 { fields.reserve(fields: 12, bytes: 512) }
        let name = UnsafeRawBufferPointer(rebasing: text[..<colon])
        let value = UnsafeRawBufferPointer(rebasing: text[start..<stop])
        // By length first: most names are neither.
        switch colon {
        case 14 where name.equalsIgnoringASCIICase("content-length"):
            if contentLengthFields == 0 { plainContentLength = Self.isPlainNumber(value) }
            contentLengthFields += 1
        case 17 where name.equalsIgnoringASCIICase("transfer-encoding"):
            chunked = true
        default:
            break
        }
        fields.append(from: text, name: 0..<colon, value: start..<stop)
        return nil
    }

    /// "HTTP/1.1 200 OK": the code after the first space, the reason after the second.
    private mutating func statusLine(_ text: UnsafeRawBufferPointer) {
        guard let space = text.firstIndex(of: UInt8(ascii: " ")) else {
            // No code at all: left at 0, the head would have passed for an interim one and been skipped.
            problem = "an invalid status code"
            return
        }
        let rest = text[(space + 1)...]
        let codeEnd = rest.firstIndex(of: UInt8(ascii: " ")) ?? rest.endIndex
        // RFC 9112 §4: exactly three digits (`Int(_:)` would take a sign, or a fourth digit after a zero), and a
        // reason of tabs, spaces and visible characters. Both reach the client as they are, so anything else (a lone
        // CR could split the answer for a lenient client) is refused.
        status = 0
        if codeEnd - rest.startIndex == 3 {
            for byte in rest[..<codeEnd] where status >= 0 {
                status = Self.isDigit(byte) ? status * 10 + Int(byte - UInt8(ascii: "0")) : -1
            }
        }
        if !(100...999).contains(status) { problem = "an invalid status code" }
        guard codeEnd < rest.endIndex else { return }
        let phrase = rest[(codeEnd + 1)...]
        if phrase.contains(where: { ($0 < 0x20 && $0 != UInt8(ascii: "\t")) || $0 == 0x7F }) {
            problem = "a control character in the reason phrase"
        }
        reason = String(decoding: phrase, as: UTF8.self)
    }

    /// RFC 9112 §6.3 rules 3 and 5: Content-Length together with Transfer-Encoding, or differing Content-Lengths,
    /// mean the message length cannot be known; a proxy must discard the answer and close the connection. A value
    /// that is not digits, or too large for any body, is no length either (RFC 9110 §8.6). The same value repeated
    /// (`5, 5`, or the field twice) goes on as one field with one value: forwarded as it came, it is a value no
    /// client need accept.
    private mutating func settleFraming() -> String? {
        guard contentLengthFields > 0 else { return nil }
        if chunked { return "both Transfer-Encoding and Content-Length" }
        // The usual case: one plain value.
        if contentLengthFields == 1, plainContentLength { return nil }
        let values = fields.indices(named: "content-length").map { String(decoding: fields.value($0), as: UTF8.self) }
        let lengths = Set(values.flatMap { $0.split(separator: ",").map { $0.trimmingSpacesAndTabs() } })
        guard lengths.count == 1, let length = lengths.first, length.utf8.allSatisfy(Self.isDigit), Int64(length) != nil
        else {
            return lengths.count > 1 ? "conflicting Content-Length values" : "an invalid Content-Length"
        }
        fields.removeAll { $0.equalsIgnoringASCIICase("content-length") }
        let line = Array("Content-Length:".utf8) + Array(length.utf8)
        line.withUnsafeBytes { fields.append(from: $0, name: 0..<14, value: 15..<$0.count) }
        return nil
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// Digits only, at least one, and a value an `Int64` holds (RFC 9110 §8.6).
    private static func isPlainNumber(_ value: UnsafeRawBufferPointer) -> Bool {
        guard !value.isEmpty else { return false }
        var number: Int64 = 0
        for byte in value {
            guard isDigit(byte) else { return false }
            let (times10, overflowTimes) = number.multipliedReportingOverflow(by: 10)
            let (sum, overflowSum) = times10.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflowTimes, !overflowSum else { return false }
            number = sum
        }
        return true
    }

    private mutating func reset() {
        status = 0
        reason = ""
        fields.removeAll()
        contentLengthFields = 0
        plainContentLength = false
        chunked = false
    }
}

/// The final (non-1xx) response head as the upstream sent it, header fields in order.
public struct CurlResponseHead: Sendable {
    public var status: Int
    public var reason: String
    public var fields: HeaderFields

    public init(status: Int, reason: String, fields: HeaderFields) {
        self.status = status
        self.reason = reason
        self.fields = fields
    }

    /// The fields as text (see `HeaderFields.text`).
    public var headers: [(name: String, value: String)] { fields.text }
}
