import ProxySupport

/// The chunk-size line of a chunked request body (RFC 9112 §7.1): its size, and its extensions parsed to their
/// grammar and dropped (curl re-chunks the body toward the upstream).
extension RequestDecoder {
    /// The size of a chunk-size line (without its LF), nil when malformed.
    // A slice of NIO's bytes, borrowed by the decoder's `chunkSize(_:)` on its buffer.
    static func chunkSize(_ line: UnsafeRawBufferPointer) -> Int64? {
        guard let last = line.last, last == RequestHeadParser.carriageReturn else { return nil }
        var size: Int64 = 0
        var index = 0
        while index < line.count - 1, let digit = line[index].hexDigitValue {
            guard index < 15 else { return nil }
            size = size << 4 | Int64(digit)
            index += 1
        }
        guard index > 0 else { return nil }
        let end = line.count - 1
        var rest = skipWhitespace(line, from: index, to: end)
        // A size followed by whitespace alone is not a chunk-size line.
        if rest == end { return rest == index ? size : nil }
        while rest < end {
            guard let next = chunkExtension(line, from: rest, to: end) else { return nil }
            rest = next
        }
        return size
    }

    /// One `BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] BWS` from `start` (at the `;`), RFC 9112
    /// §7.1.1 and RFC 9110 §5.6.4; where the next one starts, nil when malformed.
    private static func chunkExtension(_ line: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        guard line[start] == UInt8(ascii: ";") else { return nil }
        var at = skipWhitespace(line, from: start + 1, to: end)
        let nameStart = at
        while at < end, line[at].isHTTPTokenByte { at += 1 }
        guard at > nameStart else { return nil }
        at = skipWhitespace(line, from: at, to: end)
        guard at < end, line[at] == UInt8(ascii: "=") else { return at }
        at = skipWhitespace(line, from: at + 1, to: end)
        guard at < end else { return nil }
        if line[at] == UInt8(ascii: "\"") {
            at += 1
            while at < end, line[at] != UInt8(ascii: "\"") {
                // quoted-pair: a backslash and any byte but a control one; qdtext: any but controls, `"` and `\`.
                if line[at] == UInt8(ascii: "\\") { at += 1 }
                guard at < end, !RequestHeadParser.isControlInValue(line[at]) else { return nil }
                at += 1
            }
            guard at < end else { return nil }
            at += 1
        } else {
            let valueStart = at
            while at < end, line[at].isHTTPTokenByte { at += 1 }
            guard at > valueStart else { return nil }
        }
        return skipWhitespace(line, from: at, to: end)
    }

    /// Past BWS (SP and HTAB) in the chunk-size line.
    private static func skipWhitespace(_ line: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int {
        var at = start
        while at < end, RequestHeadParser.isWhitespace(line[at]) { at += 1 }
        return at
    }
}
