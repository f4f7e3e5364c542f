import NIOCore
import NIOEmbedded
import NIOHTTP1
import ProxyConfiguration
import ProxySupport
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration
@testable import CurlClient

/// The handlers that stand in for NIO's own, driven through `EmbeddedChannel` (no sockets, time moved by hand), and
/// the byte-level parsers and policies, called directly.
@Suite struct HandlerUnitTests {
    static func text(_ buffer: ByteBuffer?) -> String { buffer.map { String(buffer: $0) } ?? "" }

    // MARK: - ClientTimeoutHandler

    static func timeouts() -> TimeoutsConfig {
        var timeouts = TimeoutsConfig.defaults
        timeouts.clientHeaderSeconds = 1
        timeouts.clientIdleSeconds = 2
        timeouts.clientBodyIdleSeconds = 1
        return timeouts
    }

    /// Records the time-limit events that reach the connection's handler.
    final class TimeoutEvents: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var seen: [ClientTimeout] = []
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? ClientTimeout { seen.append(event) }
        }
    }

    /// A connected channel with the timeout handler, the cycle it reads, and what it reports.
    static func timedConnection(
        timeouts: TimeoutsConfig = timeouts(), minUploadBytesPerSecond: Int = 0
    ) throws -> (EmbeddedChannel, ConnectionCycle, TimeoutEvents) {
        let channel = EmbeddedChannel()
        let cycle = ConnectionCycle(eventLoop: channel.embeddedEventLoop)
        let events = TimeoutEvents()
        try channel.pipeline.syncOperations.addHandler(
            ClientTimeoutHandler(timeouts: timeouts, cycle: cycle, minUploadBytesPerSecond: minUploadBytesPerSecond))
        try channel.pipeline.syncOperations.addHandler(events)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, cycle, events)
    }

    @Test func aSlowHeadIsReportedToTheHandlerAfterTheHeaderLimit() throws {
        let (channel, _, events) = try Self.timedConnection()
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nX-Drip: 1"))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(900))
        #expect(events.seen.isEmpty)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect(events.seen == [.headTooSlow])
        // The handler knows time, not answers: the 408 is the connection handler's to write.
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    }

    /// Bytes from the client, and the next read asked for at once, as NIO's auto-read does unless a handler behind
    /// holds it back.
    static func deliver(_ text: String, to channel: EmbeddedChannel) throws {
        try channel.writeInbound(ByteBuffer(string: text))
        channel.read()
    }

    @Test func aStalledBodyIsReported() throws {
        let (channel, cycle, events) = try Self.timedConnection()
        cycle.enter(.readingBody)
        try Self.deliver("part of a body", to: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(800))
        try Self.deliver("more", to: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(800))
        #expect(events.seen.isEmpty, "the body limit counts from the last bytes")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1200))
        #expect(events.seen.first == .bodyStalled)
    }

    /// A head dripped a byte at a time is timed from its first byte: a deadline reset by each byte would let a slow
    /// drip hold the connection for ever.
    @Test func aDrippedHeadIsTimedFromItsFirstByte() throws {
        let (channel, _, events) = try Self.timedConnection()
        for byte in "GET /api/v1/x HT".utf8.prefix(8) {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(100))
        }
        // 0.8 s in: nothing yet. At 1 s from the first byte (not 1 s from the last): the 408's event.
        #expect(events.seen.isEmpty)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(250))
        #expect(events.seen == [.headTooSlow])
    }

    /// Issue #26, 5: a body below the minimum rate (100 bytes a second here) is cut after a window, though it never
    /// pauses; one at the rate goes on. Pieces every 200 ms for 4 s.
    @Test(arguments: [(10, true), (50, false)])
    func aBodyBelowTheMinimumRateIsCut(bytesPerPiece: Int, cut: Bool) throws {
        let (channel, cycle, events) = try Self.timedConnection(minUploadBytesPerSecond: 100)
        cycle.enter(.readingBody)
        for _ in 0..<20 where channel.isActive && events.seen.isEmpty {
            try Self.deliver(String(repeating: "x", count: bytesPerPiece), to: channel)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        }
        #expect(events.seen.first == (cut ? .bodyStalled : nil))
    }

    /// While the handlers behind hold reads back (a slow upstream), the client cannot send: its clocks stand still.
    @Test func heldReadsStopTheBodyClocks() throws {
        let (channel, cycle, events) = try Self.timedConnection(minUploadBytesPerSecond: 100)
        cycle.enter(.readingBody)
        try channel.writeInbound(ByteBuffer(string: String(repeating: "x", count: 10)))  // no read asked for
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(events.seen.isEmpty)
        channel.read()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1100))
        #expect(events.seen.first == .bodyStalled, "once reads go on, the client's own silence counts again")
    }

    /// Issue #26, 5: a connection that never starts a request is closed after the first-request limit.
    @Test func aConnectionThatSendsNothingIsClosedSoon() throws {
        var timeouts = Self.timeouts()
        timeouts.clientIdleSeconds = 60
        timeouts.clientFirstRequestSeconds = 0.5
        let (channel, _, _) = try Self.timedConnection(timeouts: timeouts)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(400))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1100))
        #expect(!channel.isActive)
    }

    @Test func anIdleConnectionIsClosedWithoutAnAnswer() throws {
        let (channel, _, events) = try Self.timedConnection()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1900))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1100))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(events.seen.isEmpty)
        #expect(!channel.isActive)
    }

    // MARK: - ResponseEncoder

    @Test func encoderFramesForTheClientThatAsked() throws {
        let channel = EmbeddedChannel(handler: ResponseEncoder())
        let chunked = ClientResponseHead(status: 200, reason: "OK", headers: [("X-A", "1")], framing: .chunked)
        try channel.writeOutbound(ClientResponsePart.head(chunked))
        try channel.writeOutbound(ClientResponsePart.body(ByteBuffer(string: "hello")))
        try channel.writeOutbound(ClientResponsePart.end)
        var written = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { written += String(buffer: buffer) }
        #expect(written.hasPrefix("HTTP/1.1 200 OK\r\nX-A: 1\r\n"))
        #expect(written.contains("Transfer-Encoding: chunked\r\n\r\n"))
        #expect(written.hasSuffix("5\r\nhello\r\n0\r\n\r\n"))

        let whole = OwnAnswers.bare(.badRequest)
        try channel.writeOutbound(ClientResponsePart.head(whole))
        let bare = Self.text(try channel.readOutbound(as: ByteBuffer.self))
        #expect(bare == "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "one buffer for a whole answer")
    }

    // MARK: - CurlHeadParser

    static func feed(_ lines: [String]) -> (CurlResponseHead?, String?) {
        var parser = CurlHeadParser()
        var head: CurlResponseHead?
        // As the transfer does: the first problem aborts it, so no line after it is fed.
        for line in lines where parser.problem == nil {
            let bytes = Array(line.utf8)
            head = bytes.withUnsafeBytes { parser.feed($0) } ?? head
        }
        return (head, parser.problem)
    }

    /// The field-name check's bit masks against RFC 9110 §5.6.2's tchar as written, for every byte.
    @Test func tokenBytesAreExactlyRFC9110sTchar() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(byte.isHTTPTokenByte == tchar.contains(byte), "byte \(byte)")
        }
    }

    @Test func headParserSkipsInterimHeadsAndKeepsFieldBytes() {
        let (head, problem) = Self.feed([
            "HTTP/1.1 100 Continue\r\n", "\r\n", "HTTP/1.1 201 Created\r\n", "Location: /x\r\n",
            "Content-Disposition: attachment; filename=\"caf\u{E9}\"\r\n", "\r\n",
        ])
        #expect(problem == nil)
        #expect(head?.status == 201)
        #expect(head?.reason == "Created")
        #expect(head?.headers.map(\.name) == ["Location", "Content-Disposition"])
    }

    @Test(arguments: [
        (["HTTP/1.1 200 OK\r\n", "Content-Length: 3\r\n", "Transfer-Encoding: chunked\r\n", "\r\n"], "Content-Length"),
        (["HTTP/1.1 200 OK\r\n", "Content-Length: 3\r\n", "Content-Length: 4\r\n", "\r\n"], "Content-Length"),
        // RFC 9110 §8.6: digits only, at least one, and a length a body can have.
        (["HTTP/1.1 200 OK\r\n", "Content-Length:\r\n", "\r\n"], "invalid Content-Length"),
        (["HTTP/1.1 200 OK\r\n", "Content-Length: 9223372036854775808\r\n", "\r\n"], "invalid Content-Length"),
        (["HTTP/1.1 200 OK\r\n", "Content-Length: +3\r\n", "\r\n"], "invalid Content-Length"),
        (["HTTP/1.1 200 OK\r\n", "Content-Length: 3a\r\n", "\r\n"], "invalid Content-Length"),
        (["HTTP/1.1 200 OK\r\n", "Content-Length: 3, 4\r\n", "\r\n"], "conflicting Content-Length"),
        (["HTTP/1.1 200 OK\r\n", "X-A: 1\r\n", " folded\r\n", "\r\n"], "folded"),
        (["HTTP/1.1 101 Switching Protocols\r\n", "\r\n"], "101"),
        // RFC 9112 §4: exactly three digits.
        (["HTTP/1.1 +20 OK\r\n", "\r\n"], "status code"),
        (["HTTP/1.1 +200 OK\r\n", "\r\n"], "status code"),
        (["HTTP/1.1 0200 OK\r\n", "\r\n"], "status code"),
        (["HTTP/1.1 2x0 OK\r\n", "\r\n"], "status code"),
        (["HTTP/1.1 099 OK\r\n", "\r\n"], "status code"),
        (["HTTP/1.1\r\n", "\r\n"], "status code"),
        // RFC 9110 §5.1, §5.5: a token, then a colon; no controls in the value.
        (["HTTP/1.1 200 OK\r\n", "X A: 1\r\n", "\r\n"], "invalid header name"),
        (["HTTP/1.1 200 OK\r\n", ": 1\r\n", "\r\n"], "invalid header name"),
        (["HTTP/1.1 200 OK\r\n", "X-A 1\r\n", "\r\n"], "without a colon"),
        (["HTTP/1.1 200 OK\r\n", "X-A: 1\u{7F}\r\n", "\r\n"], "control character"),
        (["HTTP/1.1 200 OK\r\n", "X-A: 1\r2\r\n", "\r\n"], "control character"),
        (["HTTP/1.1 200 OK\r\n", "X-A: a long value\u{1}that goes on\r\n", "\r\n"], "control character"),
        (["HTTP/1.1 200 OK\r\n", "X-A: sixteen bytes, then\u{7F}\r\n", "\r\n"], "control character"),
    ])
    func headParserRefusesWhatAProxyMustNotPassOn(lines: [String], mentions: String) {
        let (head, problem) = Self.feed(lines)
        #expect(head == nil)
        #expect(problem?.contains(mentions) == true, "\(problem ?? "no problem")")
    }

    /// One plain Content-Length passes as it came; the same value repeated (in a list or in several fields) goes on
    /// as one field with that value (RFC 9110 §8.6).
    @Test(arguments: [
        (["content-LENGTH: 0\r\n"], [("content-LENGTH", "0")]),
        (["Content-Length: 9223372036854775807\r\n"], [("Content-Length", "9223372036854775807")]),
        (["Content-Length: 5, 5\r\n"], [("Content-Length", "5")]),
        (["Content-Length: 5\r\n", "X-A: 1\r\n", "Content-Length: 5\r\n"], [("X-A", "1"), ("Content-Length", "5")]),
    ])
    func headParserSettlesOneContentLength(lines: [String], fields: [(String, String)]) {
        let (head, problem) = Self.feed(["HTTP/1.1 200 OK\r\n"] + lines + ["\r\n"])
        #expect(problem == nil)
        #expect(head?.headers.map(\.name) == fields.map(\.0))
        #expect(head?.headers.map(\.value) == fields.map(\.1))
    }

    // MARK: - HeaderPolicy

    @Test func upstreamHeadersFollowThePolicyInOrder() {
        let headers = HTTPHeaders([
            ("Host", "127.0.0.1:8080"), ("Connection", "keep-alive, X-Hop"), ("X-Hop", "1"), ("Keep-Alive", "5"),
            ("Authorization", "Basic c2VjcmV0"), ("X-Forwarded-For", "1.2.3.4"), ("Forwarded", "for=x"),
            ("X-HTTP-Method-Override", "DELETE"), ("X-Caller-Key", "k"), ("Accept", "*/*"), ("Expect", "100-continue"),
            ("Content-Length", "3"), ("User-Agent", "tool/1"),
        ])
        // The route's requireHeader name, lower-cased as the config stores it.
        let out = HeaderPolicy.upstreamRequestHeaders(
            headers, authorization: Secret("Bearer T"), callerProof: "x-caller-key")
        #expect(out.map(\.name) == ["Accept", "User-Agent", "Authorization"])
        #expect(out.last?.value == "Bearer T")
    }

    // MARK: - Host

    @Test(arguments: [
        ("localhost", "localhost"), ("localhost:8080", "localhost:8080"), ("127.0.0.1:1", "127.0.0.1:1"),
        ("[::1]:8080", "[::1]:8080"), ("[::1]", "[::1]"), ("access-service.example.com", "access-service.example.com"),
        ("[::ffff:127.0.0.1]:80", "[::ffff:127.0.0.1]:80"),
    ])
    func hostFieldsAcceptedAreRebuiltFromTheirParts(value: String, authority: String) {
        #expect(HostField(value)?.authority == authority)
    }

    @Test(arguments: [
        "", "localhost:@evil.example", "localhost:evil.com", "[::1]evil.com", "a@b", "a b", "a/b", "localhost:",
        "localhost:65536", "localhost:123456", "[]", "[::1", "[fe80::1%eth0]", "a,b", "user:pw@localhost",
    ])
    func hostFieldsRefused(value: String) {
        #expect(HostField(value) == nil)
    }

    /// Loopback is `localhost`, 127.0.0.0/8 as four decimal octets, and ::1; nothing near them (it decides whether a
    /// plain-HTTP URL is allowed and whether a Host names the proxy).
    @Test(arguments: [
        ("localhost", true), ("LocalHost", true), ("::1", true), ("[::1]", true), ("127.0.0.1", true),
        ("127.255.255.255", true), ("127.000.0.1", true), ("127.0.0", false), ("127.0.0.1.5", false),
        ("128.0.0.1", false), ("127.0.0.256", false), ("1127.0.0.1", false), ("127..0.1", false), ("", false),
        ("localhost.", false), ("localhostx", false), ("::2", false), ("127.0.0.1 ", false), ("0127.0.0.1", false),
        ("[::1", false),
    ])
    func loopbackNames(host: String, loopback: Bool) {
        #expect(HostName.isLoopback(host) == loopback)
    }

    /// The byte search finds the same place as a search of the text, in strings and in slices of them, after
    /// multi-byte characters too; the access log's path keeps the query's keys and drops its values.
    @Test func byteSearchesAgreeWithTextSearches() {
        for text in ["/a?b=1", "/é/ü?x=%C3&y", "no query", "?", "", "/日本?語=1"] {
            #expect(text.firstIndex(ofByte: UInt8(ascii: "?")) == text.firstIndex(of: "?"), "\(text)")
            let slice = text.dropFirst()
            #expect(slice.firstIndex(ofByte: UInt8(ascii: "?")) == slice.firstIndex(of: "?"), "\(text)")
        }
        #expect(ExchangeRecord.pathWithoutQueryValues("/é/ü?x=%C3&y") == "/é/ü?x&y")
        #expect(ExchangeRecord.pathWithoutQueryValues("/a/b") == "/a/b")
    }

    // MARK: - PathSafety

    @Test(arguments: [
        "/api/v1/files", "/api/v1/a%20b", "/api/v1/caf%C3%A9", "/api/v1/x.y/z", "/api/v1/..x", "/api/v1/%7Euser",
    ])
    func pathsThatStayWhereTheySay(_ path: String) {
        #expect(PathSafety.problem(in: Substring(path)) == nil)
    }

    /// By rule, not by list: each of these is a way past a prefix check in some server that decodes or normalises.
    @Test(arguments: [
        ("/api/v1/../admin", "dot segments"), ("/api/v1/..;x/admin", "dot segments"), ("/api\\v1", "backslashes"),
        ("/api/v1/%2e%2e/x", "%2e"), ("/api/v1/%2F", "%2f"), ("/api/v1/%252e", "%25"), ("/api/v1/%25%32%65", "%25"),
        ("/api/v1/%%32%65", "two hex digits"), ("/api/v1/%u002e", "two hex digits"), ("/api/v1/x%", "two hex digits"),
        ("/api/v1/%c0%ae", "not UTF-8"), ("/api/v1/%e0%80%ae", "not UTF-8"), ("/api/v1/%ef%bc%8e", "look-alike"),
        ("/api/v1/%00", "%00"),
    ])
    func pathsThatCouldLeaveTheBase(path: String, mentions: String) {
        let problem = PathSafety.problem(in: Substring(path))
        #expect(problem?.contains(mentions) == true, "\(path): \(problem ?? "accepted")")
    }

    // MARK: - Word scans

    /// The head parser's control-byte scan, eight bytes a step, against a byte loop (tabs pass, other controls and
    /// DEL do not), over 2,000 seeded buffers at every offset.
    @Test func controlByteScanAgreesWithAByteLoop() {
        var random = SplitMix(seed: 37)
        let alphabet: [UInt8] = [0x09, 0x00, 0x1F, 0x20, 0x7E, 0x7F, 0x80, 0xFF, UInt8(ascii: "a")]
        func isControl(_ byte: UInt8) -> Bool { (byte < 0x20 && byte != 0x09) || byte == 0x7F }
        for bytes in random.buffers(2_000, alphabet: alphabet) {
            bytes.withUnsafeBytes { raw in
                // Each word test is exact, not only safe.
                for start in stride(from: 0, through: raw.count - 8, by: 1) {
                    let word = raw.loadUnaligned(fromByteOffset: start, as: UInt64.self)
                    let eight = raw[start..<start + 8]
                    #expect(WordScan.hasByte(below: 0x20, in: word) == eight.contains { $0 < 0x20 })
                    #expect(WordScan.hasByte(0x7F, in: word) == eight.contains(0x7F))
                }
                for start in 0...raw.count {
                    let rest = UnsafeRawBufferPointer(rebasing: raw[start...])
                    let found = WordScan.contains(
                        rest, wordMayMatch: { WordScan.hasByte(below: 0x20, in: $0) || WordScan.hasByte(0x7F, in: $0) },
                        byteMatches: isControl)
                    #expect(found == rest.contains(where: isControl), "\(bytes) from \(start)")
                }
            }
        }
    }

    /// The eight-bytes-a-step LF search against a byte loop: 2,000 seeded buffers of 0 to 40 bytes, LFs rare or
    /// dense, bytes near LF (0x0A ± 1, 0x8A) common, every start offset.
    @Test func lineFeedSearchAgreesWithAByteLoop() {
        var random = SplitMix(seed: 29)
        let alphabet: [UInt8] = [0x0A, 0x0B, 0x09, 0x8A, 0x00, 0xFF, 0x0D, UInt8(ascii: "a")]
        for bytes in random.buffers(2_000, alphabet: alphabet) {
            bytes.withUnsafeBytes { raw in
                for start in 0...raw.count {
                    let expected = raw[start...].firstIndex(of: 0x0A) ?? raw.count
                    let found = WordScan.firstIndex(of: 0x0A, in: raw, from: start)
                    #expect(found == expected, "\(bytes) from \(start)")
                }
            }
        }
    }
}
