import NIOCore
import NIOHTTP1
import ProxySupport

/// A request the decoder refused, and the status that answers it (RFC 9110 §15.5, §15.6.6); the connection's handler
/// answers it in its turn, after the requests before it, and the connection ends: after a malformed message the next
/// one cannot be found.
struct RequestRefusal: Error, Sendable, Equatable {
    let status: HTTPResponseStatus

    static let badRequest = RequestRefusal(status: .badRequest)
}

/// Parses one request head whose bytes are all there, request line to blank line (`RequestDecoder` finds its end).
/// Strict where RFC 9112 lets a server refuse, because a credential proxy in front of another parser must never
/// read a message differently from it:
/// - the request line is `method SP target SP version CRLF`, single spaces (§3; §2.2: no autocorrection), the method
///   a token, the target visible ASCII; a version other than HTTP/1.0 and 1.1 is 505 (RFC 9110 §15.6.6), HTTP/2's
///   preface 400 (RFC 9113 §3.4: not an HTTP/1.1 request);
/// - a field line is `token ":" OWS value OWS CRLF` (§5): no whitespace before the colon or at the line's start
///   (§5.1, and obs-fold, §5.2), no control byte but HTAB in the value (RFC 9110 §5.5), every line ended by CRLF
///   (a bare CR or LF is 400: §2.2 allows refusing them, and two parsers splitting lines differently is smuggling).
enum RequestHeadParser {
    static let carriageReturn = UInt8(ascii: "\r")
    static let lineFeed = UInt8(ascii: "\n")

    /// `head`: from the request line's first byte to the blank line's LF.
    // NIO's bytes, borrowed by `RequestDecoder`; the parts below are slices of them until made into strings.
    static func parse(_ head: UnsafeRawBufferPointer) -> Result<HTTPRequestHead, RequestRefusal> {
        let lineEnd = WordScan.firstIndex(of: lineFeed, in: head, from: 0)
        guard lineEnd > 0, lineEnd < head.count, head[lineEnd - 1] == carriageReturn else {
            return .failure(.badRequest)
        }
        // The request line without CRLF, then its three parts: views of the same bytes.
        let line = UnsafeRawBufferPointer(rebasing: head[..<(lineEnd - 1)])
        guard let firstSpace = line.firstIndex(of: UInt8(ascii: " ")), firstSpace > 0,
            let secondSpace = line[(firstSpace + 1)...].firstIndex(of: UInt8(ascii: " ")), secondSpace > firstSpace + 1
        else { return .failure(.badRequest) }
        // Views again, not copies.
        let method = UnsafeRawBufferPointer(rebasing: line[..<firstSpace])
        let target = UnsafeRawBufferPointer(rebasing: line[(firstSpace + 1)..<secondSpace])
        let versionBytes = UnsafeRawBufferPointer(rebasing: line[(secondSpace + 1)...])
        guard method.allSatisfy(\.isHTTPTokenByte), target.allSatisfy(isTargetByte) else {
            return .failure(.badRequest)
        }
        let version: HTTPVersion
        switch Self.version(versionBytes) {
        case .supported(let supported): version = supported
        case .unsupported:
            // `PRI * HTTP/2.0` is a client speaking HTTP/2 to an HTTP/1.1 port, not a request to answer with 505.
            let preface = method.elementsEqual("PRI".utf8) && target.elementsEqual("*".utf8)
            return .failure(preface ? .badRequest : RequestRefusal(status: .httpVersionNotSupported))
        case .malformed: return .failure(.badRequest)
        }
        var headers: [(String, String)] = []
        headers.reserveCapacity(8)
        guard
            case .complete = fieldLines(head, from: lineEnd + 1, each: { name, value in
                headers.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            })
        else { return .failure(.badRequest) }
        return .success(
            HTTPRequestHead(
                version: version, method: HTTPMethod(rawValue: String(decoding: method, as: UTF8.self)),
                uri: String(decoding: target, as: UTF8.self), headers: HTTPHeaders(headers)))
    }

    enum FieldLines { case complete, malformed }

    /// Reads field lines from `start` up to and including the blank line (a head's or a chunked trailer section's),
    /// handing each name and value (without surrounding whitespace) to `each`.
    // Raw bytes, as for `parse`.
    static func fieldLines(
        _ bytes: UnsafeRawBufferPointer, from start: Int,
        each: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void
    ) -> FieldLines {
        var start = start
        while true {
            let end = WordScan.firstIndex(of: lineFeed, in: bytes, from: start)
            guard end < bytes.count, end > start, bytes[end - 1] == carriageReturn else { return .malformed }
            let contentEnd = end - 1
            if contentEnd == start { return .complete }
            var colon = start
            while colon < contentEnd, bytes[colon].isHTTPTokenByte { colon += 1 }
            guard colon > start, colon < contentEnd, bytes[colon] == UInt8(ascii: ":") else { return .malformed }
            var valueStart = colon + 1
            var valueEnd = contentEnd
            while valueStart < valueEnd, isWhitespace(bytes[valueStart]) { valueStart += 1 }
            while valueEnd > valueStart, isWhitespace(bytes[valueEnd - 1]) { valueEnd -= 1 }
            // A view of the value's bytes; eight bytes a step: values are most of a head.
            let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])
            guard !WordScan.contains(value, wordMayMatch: mayHoldControl, byteMatches: isControlInValue) else {
                return .malformed
            }
            // The name, as a view too.
            each(UnsafeRawBufferPointer(rebasing: bytes[start..<colon]), value)
            start = end + 1
        }
    }

    private enum Version {
        case supported(HTTPVersion)
        /// `HTTP/d.d…`, but not 1.0 or 1.1.
        case unsupported
        case malformed
    }

    // A slice of the request line's bytes.
    private static func version(_ bytes: UnsafeRawBufferPointer) -> Version {
        // The two every request has, as one word each (the bytes' order in memory, read little-endian).
        if bytes.count == 8 {
            switch bytes.loadUnaligned(as: UInt64.self).littleEndian {
            case http11: return .supported(.http1_1)
            case http10: return .supported(.http1_0)
            default: break
            }
        }
        guard bytes.count >= 8, bytes.prefix(5).elementsEqual("HTTP/".utf8) else { return .malformed }
        let numbers = bytes[5...].split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard numbers.count == 2,
            numbers.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } })
        else { return .malformed }
        return .unsupported
    }

    /// `HTTP/1.1` and `HTTP/1.0` as little-endian words: the bytes 48 54 54 50 2F 31 2E 31 (or 30) read backwards.
    private static let http11: UInt64 = 0x312E_312F_5054_5448
    private static let http10: UInt64 = 0x302E_312F_5054_5448

    /// What an origin-, absolute- or authority-form target may hold at this stage: any visible ASCII byte (RFC 3986's
    /// finer grammar is `RequestTarget`'s and the path check's). Not above 0x7F: RFC 9112 §3.2 wants those
    /// percent-encoded, and curl would encode them in a path but pass them raw in a query.
    @inline(__always)
    private static func isTargetByte(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F }

    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

    /// RFC 9110 §5.5: field-vchar, SP and HTAB; obs-text (0x80–0xFF) is kept as it came.
    @inline(__always)
    static func isControlInValue(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7F
    }

    @inline(__always)
    private static func mayHoldControl(_ word: UInt64) -> Bool {
        WordScan.hasByte(below: 0x20, in: word) || WordScan.hasByte(0x7F, in: word)
    }
}
