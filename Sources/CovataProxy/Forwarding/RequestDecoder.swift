import NIOCore
import NIOHTTP1
import ProxySupport

/// Turns a client's bytes into request parts (RFC 9112): heads parsed whole by `RequestHeadParser`, bodies framed by
/// the rule the request screen applies (`RequestScreen.bodyFraming`, RFC 9112 §6.3), so the decoder and the screen
/// can never disagree about where a message ends. Body bytes go on as slices of what was read, never copied.
///
/// A refusal (`RequestRefusal`: 400, 414, 431, 505) goes inbound as an error after the parts of the requests before
/// it, and nothing more is decoded; so is a request whose framing the screen refuses (after its head), and anything
/// after a request that ends the connection (`Connection: close`, HTTP/1.0 without keep-alive, an upgrade or
/// CONNECT, which we never perform: RFC 9112 §9.6).
final class RequestDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ClientRequestPart

    static let maxRequestLineBytes = 8192
    /// A chunk-size line with its extensions (RFC 9112 §7.1.1): generous, but not unbounded buffering.
    static let maxChunkLineBytes = 4096

    private enum State {
        /// Between requests, or inside a head (`scan` remembers how far its lines were read).
        case head(HeadScan)
        case body(remaining: Int64)
        case chunkSize
        case chunkData(remaining: Int64)
        /// The CRLF after a chunk's data.
        case chunkEnd
        case trailers(HeadScan)
        /// A refusal was sent, or the connection ends after the last request: later bytes are not read.
        case stopped
    }

    private let maxHeaderBytes: Int
    private let maxHeaderCount: Int
    private var state = State.head(HeadScan())
    /// Bytes read but not yet decoded: an unfinished head or chunk-size line.
    private var pending: ByteBuffer?
    /// The request being read ends the connection.
    private var lastRequest = false

    init(maxHeaderBytes: Int, maxHeaderCount: Int) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .stopped = state { return }
        var buffer = unwrapInboundIn(data)
        if var kept = pending {
            pending = nil
            kept.writeBuffer(&buffer)
            buffer = kept
        }
        while buffer.readableBytes > 0 {
            switch step(&buffer, context: context) {
            case .next: continue
            case .needMore:
                pending = buffer
                return
            case .refused(let refusal):
                state = .stopped
                context.fireErrorCaught(refusal)
                return
            }
        }
    }

    /// The client's FIN (with half-closure allowed) inside a request: that request can never be complete.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event, insideARequest {
            state = .stopped
            context.fireErrorCaught(RequestRefusal.badRequest)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private var insideARequest: Bool {
        switch state {
        case .head: (pending?.readableBytes ?? 0) > 0
        case .body, .chunkSize, .chunkData, .chunkEnd, .trailers: true
        case .stopped: false
        }
    }

    private enum Step {
        case next
        case needMore
        case refused(RequestRefusal)
    }

    /// Decodes what `state` expects from the front of `buffer`.
    private func step(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) -> Step {
        switch state {
        case .stopped:
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .next
        case .head(var scan):
            // NIO's buffer, borrowed as raw bytes: the scans and the parser index into it without bounds checks
            // on every byte.
            let found = buffer.withUnsafeReadableBytes { scan.find(in: $0, requestLine: true, limits: limits) }
            switch found {
            case .needMore:
                state = .head(scan)
                return .needMore
            case .refused(let refusal):
                return .refused(refusal)
            case .found(let skipped, let end):
                buffer.moveReaderIndex(forwardBy: skipped)
                // Parsed in place, then the head's bytes are consumed.
                let parsed = buffer.readWithUnsafeReadableBytes { bytes in
                    let length = end - skipped
                    return (length, RequestHeadParser.parse(UnsafeRawBufferPointer(rebasing: bytes[..<length])))
                }
                switch parsed {
                case .failure(let refusal): return .refused(refusal)
                case .success(let head): return started(head, context: context)
                }
            }
        case .body(let remaining):
            let count = Int(min(remaining, Int64(buffer.readableBytes)))
            context.fireChannelRead(wrapInboundOut(.body(buffer.readSlice(length: count)!)))
            if remaining > Int64(count) {
                state = .body(remaining: remaining - Int64(count))
            } else {
                ended(context: context)
            }
            return .next
        case .chunkSize:
            return chunkSize(&buffer)
        case .chunkData(let remaining):
            let count = Int(min(remaining, Int64(buffer.readableBytes)))
            context.fireChannelRead(wrapInboundOut(.body(buffer.readSlice(length: count)!)))
            state = remaining > Int64(count) ? .chunkData(remaining: remaining - Int64(count)) : .chunkEnd
            return .next
        case .chunkEnd:
            guard buffer.readableBytes >= 2 else { return .needMore }
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { return .refused(.badRequest) }
            state = .chunkSize
            return .next
        case .trailers(var scan):
            // Borrowed as raw bytes, as for a head.
            let found = buffer.withUnsafeReadableBytes { scan.find(in: $0, requestLine: false, limits: limits) }
            switch found {
            case .needMore:
                state = .trailers(scan)
                return .needMore
            case .refused(let refusal):
                return .refused(refusal)
            case .found(_, let end):
                // Trailer fields are checked as field lines and dropped: curl's chunked upload sends none, and a
                // proxy may discard them (RFC 9110 §6.5.1). One that would frame the message is refused: a trailer
                // cannot, and llhttp refused it.
                var framing = false
                let lines = buffer.readWithUnsafeReadableBytes { bytes in
                    let section = UnsafeRawBufferPointer(rebasing: bytes[..<end])
                    return (end, RequestHeadParser.fieldLines(section, from: 0) { name, _ in
                        framing = framing || name.equalsIgnoringASCIICase("transfer-encoding")
                            || name.equalsIgnoringASCIICase("content-length")
                    })
                }
                guard case .complete = lines, !framing else { return .refused(.badRequest) }
                ended(context: context)
                return .next
            }
        }
    }

    private var limits: HeadScan.Limits {
        HeadScan.Limits(requestLineBytes: Self.maxRequestLineBytes, fieldBytes: maxHeaderBytes, fields: maxHeaderCount)
    }

    /// A head was parsed: it goes on, and its framing says what follows.
    private func started(_ head: HTTPRequestHead, context: ChannelHandlerContext) -> Step {
        let request = ClientRequestHead(head)
        lastRequest = !request.asksKeepAlive || head.method == .CONNECT
        context.fireChannelRead(wrapInboundOut(.head(request)))
        switch RequestScreen.bodyFraming(head, fields: request.fields, maxBytes: .max) {
        case .success(.stream(length: let length?)):
            state = .body(remaining: length)
        case .success(.stream(length: nil)):
            state = .chunkSize
        case .success(.none), .success(.bytes):
            ended(context: context)
        case .failure:
            // The screen refuses this head and the connection closes with its answer; where its body would end
            // cannot be known.
            state = .stopped
        }
        return .next
    }

    private func ended(context: ChannelHandlerContext) {
        state = lastRequest ? .stopped : .head(HeadScan())
        context.fireChannelRead(wrapInboundOut(.end))
    }

    /// `1*HEXDIG [ BWS ";" chunk-ext ] CRLF` (RFC 9112 §7.1): a size that fits in 60 bits, extensions dropped but
    /// parsed (a byte outside their grammar is refused, as llhttp refused it), a bare CR or LF refused.
    private func chunkSize(_ buffer: inout ByteBuffer) -> Step {
        // Borrowed as raw bytes, as for a head.
        let line = buffer.withUnsafeReadableBytes { bytes -> (end: Int, size: Int64?)? in
            let end = WordScan.firstIndex(of: RequestHeadParser.lineFeed, in: bytes, from: 0)
            guard end < bytes.count else { return nil }
            return (end, Self.chunkSize(UnsafeRawBufferPointer(rebasing: bytes[..<end])))
        }
        guard let line else {
            return buffer.readableBytes > Self.maxChunkLineBytes ? .refused(.badRequest) : .needMore
        }
        guard let size = line.size, line.end <= Self.maxChunkLineBytes else { return .refused(.badRequest) }
        buffer.moveReaderIndex(forwardBy: line.end + 1)
        state = size > 0 ? .chunkData(remaining: size) : .trailers(HeadScan())
        return .next
    }
}

@available(*, unavailable)
extension RequestDecoder: Sendable {}

/// A request as the decoder hands it on: its head, body parts as read, its end.
enum ClientRequestPart {
    case head(ClientRequestHead)
    case body(ByteBuffer)
    case end
}

/// A request head with what the decoder found out about it on the way, so nothing after it looks again.
struct ClientRequestHead: Equatable {
    let head: HTTPRequestHead
    /// The fields the screen and the framing rule look for.
    let fields: RequestFields
    /// The request lets the connection go on after its answer (RFC 9112 §9.3) and asks for no upgrade: we never
    /// upgrade, so such a connection is closed after its answer and the client's next request opens a fresh one.
    let asksKeepAlive: Bool

    init(_ head: HTTPRequestHead) {
        self.head = head
        fields = RequestFields(head.headers)
        guard fields.has(.connection) else {
            // No Connection field (what most tools send): HTTP/1.1 persists, HTTP/1.0 does not (RFC 9112 §9.3),
            // and an upgrade needs `Connection: upgrade`. NIO's reading of the field costs a search otherwise.
            asksKeepAlive = head.version == .http1_1
            return
        }
        let upgrade = fields.has(.upgrade) && HeaderPolicy.connectionOptions(head.headers).contains("upgrade")
        asksKeepAlive = head.isKeepAlive && !upgrade
    }
}

/// Finds the end of a head (or a trailer section) line by line, resuming where the last read left off, so a head
/// that arrives a byte at a time is still read once. Enforces the size limits before the end is seen.
struct HeadScan {
    struct Limits {
        /// The request line, without CRLF: 414 beyond it (RFC 9110 §15.5.15; RFC 9112 §3 asks for at least 8000).
        var requestLineBytes: Int
        /// The field lines together: 431 beyond them (RFC 6585 §5).
        var fieldBytes: Int
        var fields: Int
    }

    enum Found {
        case needMore
        case refused(RequestRefusal)
        /// Blank lines before the request line to drop (RFC 9112 §2.2), and where the head ends (after its LF).
        case found(skipped: Int, end: Int)
    }

    /// Where the LF search goes on.
    private var next = 0
    private var lineStart = 0
    /// Where the field lines start (after the request line), once it ended.
    private var fieldsStart: Int?
    private var lines = 0
    /// Blank lines before the request line (their bytes are dropped with the head).
    private var skipped = 0

    // NIO's bytes, borrowed by the decoder.
    mutating func find(in bytes: UnsafeRawBufferPointer, requestLine: Bool, limits: Limits) -> Found {
        if !requestLine, fieldsStart == nil { fieldsStart = 0 }
        while true {
            let end = WordScan.firstIndex(of: RequestHeadParser.lineFeed, in: bytes, from: next)
            guard end < bytes.count else {
                next = bytes.count
                if let fieldsStart {
                    return bytes.count - fieldsStart > limits.fieldBytes ? .refused(tooLarge) : .needMore
                }
                return bytes.count - lineStart > limits.requestLineBytes + 1 ? .refused(uriTooLong) : .needMore
            }
            let length = end - lineStart
            let blank = length == 0 || (length == 1 && bytes[lineStart] == RequestHeadParser.carriageReturn)
            next = end + 1
            if let fieldsStart {
                if blank { return .found(skipped: skipped, end: end + 1) }
                lines += 1
                if lines > limits.fields || end + 1 - fieldsStart > limits.fieldBytes { return .refused(tooLarge) }
            } else if blank {
                // Blank lines before a request are allowed, not an endless stream of them.
                skipped = end + 1
                if skipped > limits.requestLineBytes { return .refused(.badRequest) }
            } else {
                if length > limits.requestLineBytes + 1 { return .refused(uriTooLong) }
                fieldsStart = end + 1
            }
            lineStart = end + 1
        }
    }

    private var uriTooLong: RequestRefusal { RequestRefusal(status: .uriTooLong) }
    private var tooLarge: RequestRefusal { RequestRefusal(status: .requestHeaderFieldsTooLarge) }
}
