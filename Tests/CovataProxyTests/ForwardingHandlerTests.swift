import CurlClient
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import ProxyObservability
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// The route's own pipeline (`RouteListener.configure`) in an `EmbeddedChannel`, with the upstream client and the
/// token source scripted (`ScriptedSeams.swift`): every curl event and token answer comes when the test delivers it,
/// and time moves by hand. No sockets, no sleeps.
@Suite struct ForwardingHandlerTests {
    /// Counts the reads the handler lets through to the channel.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Any
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    struct Rig {
        let channel: EmbeddedChannel
        let curl = ScriptedCurl()
        let tokens: ScriptedTokens
        let reads = ReadCounter()

        init(token: String? = "token-value-0001", limits: LimitsConfig = .defaults) throws {
            tokens = ScriptedTokens(cached: token.map(ScriptedTokens.token))
            var timeouts = TimeoutsConfig.defaults
            timeouts.clientHeaderSeconds = 1
            timeouts.clientBodyIdleSeconds = 3
            timeouts.firstByteSeconds = 2
            let route = RouteConfig(
                listen: .tcp(host: "127.0.0.1", port: 0),
                upstream: UpstreamURL(scheme: "https", host: "covata.example", port: nil, basePath: "/base"))
            let forwarder = Forwarder(
                route: route, index: 0, redirects: SharedRedirects(), upstream: curl, tokens: tokens,
                timeouts: timeouts, limits: limits, budget: RequestBudget(maxRequests: 8, replayBytes: 1 << 20),
                metrics: TestMetrics.make(), settings: RuntimeSettings(accessLog: false),
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                accessLog: AccessLog { _ in })
            channel = EmbeddedChannel()
            try RouteListener.configure(channel, forwarder: forwarder, timeouts: timeouts)
            try channel.pipeline.syncOperations.addHandler(reads, position: .first)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
        }

        func send(_ text: String) throws { try channel.writeInbound(ByteBuffer(string: text)) }

        /// Delivers curl's events for `transfer` and lets the loop run the hop.
        func deliver(_ batch: [CurlTransferEvent], to transfer: Int = 0) {
            curl.transfers[transfer].deliver(batch)
            channel.embeddedEventLoop.run()
        }

        /// Everything written to the client since the last look.
        func written() throws -> String {
            var text = ""
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
            return text
        }
    }

    static let get = "GET /api/v1/items?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic Y2xpZW50\r\n\r\n"

    @Test func aGetGoesUpstreamWithTheBearerAndItsAnswerComesBackWhole() throws {
        let rig = try Rig()
        try rig.send(Self.get)
        let transfer = try #require(rig.curl.transfers.first)
        #expect(transfer.request.url + transfer.request.urlSuffix == "https://covata.example/base/api/v1/items?x=1")
        #expect(transfer.authorization == "Bearer token-value-0001")
        #expect(transfer.request.headers.filter { $0.name.lowercased() == "authorization" }.count == 1)
        rig.deliver([
            .head(upstreamHead(200, [("Content-Length", "2")])), .body(ByteBuffer(string: "ok")),
            .completed(.success(())),
        ])
        let answer = try rig.written()
        #expect(answer.hasPrefix("HTTP/1.1 200 Reason\r\n"))
        #expect(answer.hasSuffix("\r\n\r\nok"))
        #expect(rig.channel.isActive)
    }

    @Test func aStreamedAnswerIsRelayedPartByPartAndCurlMayReceiveOnceEachIsWritten() throws {
        let rig = try Rig()
        try rig.send(Self.get)
        rig.deliver([.head(upstreamHead(200))])
        #expect(try rig.written() == "HTTP/1.1 200 Reason\r\nTransfer-Encoding: chunked\r\n\r\n")
        rig.deliver([.body(ByteBuffer(string: "abc"))])
        rig.deliver([.body(ByteBuffer(string: "defg"))])
        #expect(rig.curl.transfers[0].consumed == 7)
        rig.deliver([.completed(.success(()))])
        #expect(try rig.written() == "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n")
    }

    @Test func anUploadStreamsAndReadsWaitWhileCurlsQueueIsFull() throws {
        let rig = try Rig()
        try rig.send("POST /api/v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nhello")
        let transfer = try #require(rig.curl.transfers.first)
        #expect(transfer.sent == Array("hello".utf8))
        transfer.acceptsMore = false
        try rig.send("wo")
        let readsBefore = rig.reads.reads
        rig.channel.read()
        #expect(rig.reads.reads == readsBefore, "a read while curl's upload queue is full")
        rig.deliver([.canAcceptMoreBody])
        #expect(rig.reads.reads == readsBefore + 1, "the held read goes out once the queue drains")
        transfer.acceptsMore = true
        try rig.send("rld")
        #expect(transfer.sent == Array("helloworld".utf8))
        #expect(transfer.finished)
    }

    @Test func aRevokedTokenIsRetiredAndTheRequestReplayedWithTheNewOne() throws {
        let rig = try Rig()
        try rig.send("POST /api/v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\n\r\nbody")
        rig.deliver([
            .head(upstreamHead(401, [("WWW-Authenticate", #"Bearer error="invalid_token""#)])),
            .body(ByteBuffer(string: #"{"error":"invalid_token"}"#)), .completed(.success(())),
        ])
        #expect(try rig.written().isEmpty, "the 401 is held")
        let retired = try #require(rig.tokens.retired.first)
        #expect(retired.token == "token-value-0001" && retired.replaying)
        #expect(retired.resource == "https://covata.example/base/api/v1/files")
        rig.tokens.cached = ScriptedTokens.token("token-value-0002")
        retired.done(true)
        rig.channel.embeddedEventLoop.run()
        try #require(rig.tokens.fetches.count == 1)
        rig.tokens.fetches[0](.success(ScriptedTokens.token("token-value-0002")))
        rig.channel.embeddedEventLoop.run()
        let replay = try #require(rig.curl.transfers.count == 2 ? rig.curl.transfers[1] : nil)
        #expect(replay.authorization == "Bearer token-value-0002")
        #expect(replay.request.body == .bytes(Array("body".utf8)))
        rig.deliver([.head(upstreamHead(201, [("Content-Length", "0")])), .completed(.success(()))], to: 1)
        let answer = try rig.written()
        #expect(answer.hasPrefix("HTTP/1.1 201 "), "\(answer)")
        #expect(!answer.contains("401"))
    }

    @Test func aRevokedTokenThatIsNotReplacedGetsTheProxysOwn401WithNothingOfTheUpstreams() throws {
        let rig = try Rig()
        try rig.send(Self.get)
        let echo = "Invalid access token: token-value-0001"
        rig.deliver([
            .head(
                upstreamHead(
                    401, [("WWW-Authenticate", #"Bearer realm="covata", error="invalid_token""#), ("X-Echo", echo)],
                    reason: "Unauthorized token-value-0001")),
            .body(ByteBuffer(string: #"{"error":"invalid_token","error_description":"\#(echo)"}"#)),
            .completed(.success(())),
        ])
        try #require(rig.tokens.retired.count == 1)
        rig.tokens.retired[0].done(false)
        rig.channel.embeddedEventLoop.run()
        let answer = try rig.written()
        #expect(answer.hasPrefix("HTTP/1.1 401 Unauthorized\r\n"))
        #expect(answer.contains(#"WWW-Authenticate: Bearer realm="covata", error="invalid_token""#))
        #expect(!answer.contains("token-value-0001") && !answer.contains("X-Echo"))
        #expect(rig.curl.transfers.count == 1)
    }

    @Test func aBodyTooLargeToKeepIsNotReplayedAndItsTokenIsStillRetired() throws {
        var limits = LimitsConfig.defaults
        limits.replayBufferBytes = 3
        let rig = try Rig(limits: limits)
        try rig.send("PUT /api/v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\n\r\nbody")
        rig.deliver([
            .head(upstreamHead(401, [("WWW-Authenticate", #"Bearer error="invalid_token""#)])),
            .completed(.success(())),
        ])
        #expect(try rig.written().hasPrefix("HTTP/1.1 401 "))
        #expect(rig.tokens.retired.map(\.replaying) == [false])
        #expect(rig.curl.transfers.count == 1)
    }

    @Test func a401ThatIsNotAboutTheTokenIsAnsweredAtOnceWithoutRetiringIt() throws {
        let rig = try Rig()
        try rig.send(Self.get)
        rig.deliver([
            .head(upstreamHead(401, [("WWW-Authenticate", #"Bearer error="insufficient_scope""#)])),
            .completed(.success(())),
        ])
        let answer = try rig.written()
        #expect(answer.hasPrefix("HTTP/1.1 401 ") && answer.contains(#"error="insufficient_scope""#))
        #expect(rig.tokens.retired.isEmpty)
    }

    @Test func aHeld401StopsGrowingAtItsLimit() throws {
        let rig = try Rig()
        try rig.send(Self.get)
        rig.deliver([.head(upstreamHead(401, [("WWW-Authenticate", #"Bearer error="invalid_token""#)]))])
        let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 32 * 1024)
        for _ in 0..<4 { rig.deliver([.body(chunk)]) }
        // Every byte is consumed, so curl never stalls on a 401 nobody will read.
        #expect(rig.curl.transfers[0].consumed == 4 * 32 * 1024)
        rig.deliver([.completed(.success(()))])
        #expect(rig.tokens.retired.count == 1)
    }

    @Test func noTokenGets503WithTheReasonAndNothingGoesUpstream() throws {
        let rig = try Rig(token: nil)
        try rig.send(Self.get)
        try #require(rig.tokens.fetches.count == 1)
        rig.tokens.fetches[0](.failure(.unavailable(reason: "token endpoint answered HTTP 500", retryAfterSeconds: 2)))
        rig.channel.embeddedEventLoop.run()
        let answer = try rig.written()
        #expect(answer.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(answer.contains("Retry-After: 2") && answer.contains(#""error":"token_unavailable""#))
        #expect(rig.curl.transfers.isEmpty)
        #expect(rig.channel.isActive)
    }

    @Test func theUpstreamHasTheFirstByteLimitToStartItsAnswer() throws {
        let rig = try Rig()
        try rig.send(Self.get)
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1900))
        #expect(try rig.written().isEmpty)
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        let answer = try rig.written()
        #expect(answer.hasPrefix("HTTP/1.1 504 Gateway Timeout\r\n"), "\(answer)")
        #expect(rig.curl.transfers[0].cancelled)
        // A head that comes after the answer is dropped.
        rig.deliver([.head(upstreamHead(200)), .completed(.success(()))])
        #expect(try rig.written().isEmpty)
    }

    @Test func aReplayHasAFirstByteLimitOfItsOwnAndTheNextRequestToo() throws {
        let rig = try Rig()
        try rig.send(Self.get)
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1500))
        rig.deliver([
            .head(upstreamHead(401, [("WWW-Authenticate", #"Bearer error="invalid_token""#)])),
            .completed(.success(())),
        ])
        rig.tokens.cached = ScriptedTokens.token("token-value-0002")
        try #require(rig.tokens.retired.count == 1)
        rig.tokens.retired[0].done(true)
        rig.channel.embeddedEventLoop.run()
        rig.tokens.fetches.first?(.success(ScriptedTokens.token("token-value-0002")))
        rig.channel.embeddedEventLoop.run()
        try #require(rig.curl.transfers.count == 2)
        // The first attempt's deadline passes: the replay, sent at 1.5 s, has until 3.5 s.
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1000))
        #expect(try rig.written().isEmpty)
        rig.deliver([.head(upstreamHead(200, [("Content-Length", "0")])), .completed(.success(()))], to: 1)
        #expect(try rig.written().hasPrefix("HTTP/1.1 200 "))
        // The next request, sent at 2.5 s, is not answered for the replay's deadline either, only for its own.
        try rig.send(Self.get)
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1900))
        #expect(try rig.written().isEmpty)
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect(try rig.written().hasPrefix("HTTP/1.1 504 "))
        #expect(rig.curl.transfers[2].cancelled && !rig.curl.transfers[1].cancelled)
    }

    @Test func anUpstreamThatFailsBeforeItsHeadGets502AndTheConnectionGoesOn() throws {
        let rig = try Rig()
        try rig.send(Self.get)
        rig.deliver([.completed(.failure(CurlError(kind: .couldNotConnect, code: 7, message: "refused")))])
        let answer = try rig.written()
        #expect(answer.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n") && answer.contains("upstream_unreachable"))
        #expect(!answer.contains("Connection: close") && rig.channel.isActive)
    }

    @Test func anUpstreamThatFailsMidAnswerCutsTheAnswerShort() throws {
        let rig = try Rig()
        try rig.send(Self.get)
        rig.deliver([.head(upstreamHead(200)), .body(ByteBuffer(string: "part"))])
        rig.deliver([.completed(.failure(CurlError(kind: .connectionBroken, code: 56, message: "reset")))])
        let answer = try rig.written()
        #expect(answer.hasSuffix("4\r\npart\r\n"), "no last chunk: the client sees the answer is broken")
        #expect(!rig.channel.isActive)
    }

    @Test func byDefaultAClientsFINCancelsItsTransferAndClosesAtOnce() throws {
        let rig = try Rig()
        try rig.send(Self.get)
        rig.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(rig.curl.transfers[0].cancelled)
        #expect(!rig.channel.isActive)
        // curl's answer, if it still comes, goes nowhere.
        rig.deliver([
            .head(upstreamHead(200, [("Content-Length", "2")])), .body(ByteBuffer(string: "ok")),
            .completed(.success(())),
        ])
        #expect(try rig.written().isEmpty)
    }

    @Test func aClientThatHalfClosesOnPurposeGetsItsAnswerAndThenTheEnd() throws {
        var limits = LimitsConfig.defaults
        limits.answerHalfClosedClients = true
        let rig = try Rig(limits: limits)
        try rig.send(Self.get)
        rig.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(rig.channel.isActive)
        rig.deliver([
            .head(upstreamHead(200, [("Content-Length", "2")])), .body(ByteBuffer(string: "ok")),
            .completed(.success(())),
        ])
        #expect(try rig.written().hasSuffix("ok"))
        rig.channel.embeddedEventLoop.run()
        #expect(!rig.channel.isActive)
    }

    @Test func pipelinedRequestsAreAnsweredInOrderAndARefusalInTheMiddleEndsTheConnection() throws {
        let rig = try Rig()
        try rig.send(
            "GET /a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET  /bad HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                + "GET /c HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(rig.curl.transfers.count == 1)
        rig.deliver([
            .head(upstreamHead(200, [("Content-Length", "1")])), .body(ByteBuffer(string: "a")),
            .completed(.success(())),
        ])
        rig.channel.embeddedEventLoop.run()
        let answers = try rig.written()
        #expect(answers.hasPrefix("HTTP/1.1 200 "))
        #expect(answers.contains("\r\n\r\naHTTP/1.1 400 Bad Request\r\n"), "\(answers)")
        #expect(rig.curl.transfers.count == 1, "nothing behind the refusal is started")
        #expect(!rig.channel.isActive)
    }

    @Test func eventsOfATransferTheExchangeMovedPastAreDropped() throws {
        let rig = try Rig()
        try rig.send(Self.get)
        rig.deliver([
            .head(upstreamHead(401, [("WWW-Authenticate", #"Bearer error="invalid_token""#)])),
            .completed(.success(())),
        ])
        rig.tokens.retired[0].done(true)
        rig.channel.embeddedEventLoop.run()
        rig.tokens.fetches[0](.success(ScriptedTokens.token("token-value-0002")))
        rig.channel.embeddedEventLoop.run()
        #expect(rig.curl.transfers.count == 2)
        // A late batch from the first transfer changes nothing.
        rig.deliver([.head(upstreamHead(500)), .completed(.success(()))], to: 0)
        #expect(try rig.written().isEmpty)
        rig.deliver([.head(upstreamHead(200, [("Content-Length", "0")])), .completed(.success(()))], to: 1)
        #expect(try rig.written().hasPrefix("HTTP/1.1 200 "))
    }

    @Test func aStalledBodyGets408TheTransferIsCancelledAndTheConnectionCloses() throws {
        let rig = try Rig()
        try rig.send("POST /api/v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nhello")
        let transfer = try #require(rig.curl.transfers.first)
        // The proxy reads on (an embedded channel reads only when asked): the client is the one pausing.
        rig.channel.read()
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(2900))
        #expect(try rig.written().isEmpty)
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        let answer = try rig.written()
        #expect(answer.hasPrefix("HTTP/1.1 408 Request Timeout\r\n") && answer.contains("Connection: close"))
        #expect(transfer.cancelled && !transfer.finished)
        rig.channel.embeddedEventLoop.run()
        #expect(!rig.channel.isActive)
    }

    @Test func aSlowHeadGetsTheCatalogs408AndTheConnectionCloses() throws {
        let rig = try Rig()
        try rig.send("GET /api/v1/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: 1")
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(900))
        #expect(try rig.written().isEmpty)
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        let answer = try rig.written()
        #expect(answer.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(answer.contains("Connection: close\r\n"))
        #expect(answer.hasSuffix(#"{"error":"request_timeout","message":"the request did not arrive in time"}"#))
        #expect(!rig.channel.isActive)
    }

    @Test func aRefusedRequestIsAnsweredFromTheCatalogAndNothingMoreBehindIt() throws {
        let rig = try Rig()
        try rig.send("CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\nGET  /two-spaces HTTP/1.1\r\n\r\n")
        let answer = try rig.written()
        #expect(answer.hasPrefix("HTTP/1.1 405 ") && answer.contains(#""error":"method_not_allowed""#))
        #expect(answer.components(separatedBy: "HTTP/1.1 ").count == 2, "\(answer)")
        #expect(rig.curl.transfers.isEmpty)
    }
}
