import CurlClient
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import CovataProxy

/// The route's own pipeline (`RouteListener.configure`) in an `EmbeddedChannel`: the forwarding handler driven
/// through its machine by bytes in, with time moved by hand. The token manager is real, behind a scripted token
/// endpoint; transfers go through a real curl worker to a port where nothing listens.
@Suite struct ForwardingHandlerTests {
    struct Rig {
        let channel: EmbeddedChannel
        let forwarder: Forwarder
        let worker: CurlWorker
        let tokens: TokenManager

        /// A connected channel with the route pipeline; `token` scripts the token endpoint.
        static func make(
            token: @escaping FakeTokenTransport.Responder = { _ in FakeTokenTransport.success() }
        ) async throws -> Rig {
            var timeouts = TimeoutsConfig.defaults
            timeouts.clientHeaderSeconds = 1
            timeouts.clientIdleSeconds = 5
            let worker = CurlWorker()
            let tokens = TokenManager(
                config: TestConfigs.oauth(), transport: FakeTokenTransport(respond: token),
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            await tokens.start()
            // Port 1 on loopback: nothing listens, so curl's connect is refused at once.
            let route = RouteConfig(
                listen: .tcp(host: "127.0.0.1", port: 0),
                upstream: UpstreamURL(scheme: "http", host: "127.0.0.1", port: 1, basePath: ""))
            let forwarder = Forwarder(
                route: route, index: 0, redirects: SharedRedirects(), worker: worker, tokens: tokens,
                timeouts: timeouts, limits: .defaults, budget: RequestBudget(maxRequests: 8, replayBytes: 1 << 20),
                metrics: TestMetrics.make(), settings: RuntimeSettings(accessLog: false),
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            let channel = EmbeddedChannel()
            try RouteListener.configure(channel, forwarder: forwarder, timeouts: timeouts)
            try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).get()
            return Rig(channel: channel, forwarder: forwarder, worker: worker, tokens: tokens)
        }

        /// Everything written to the client so far.
        func written() throws -> String {
            var text = ""
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
            return text
        }

        /// Runs the loop until the client has been written something: the token manager and curl answer from
        /// other threads, onto this loop.
        func waitForAnswer() async throws -> String {
            for _ in 0..<500 {
                channel.embeddedEventLoop.run()
                let text = try written()
                if !text.isEmpty { return text }
                try await Task.sleep(for: .milliseconds(10))
            }
            return ""
        }

        func stop() async {
            _ = try? channel.finish()
            await tokens.stop()
            worker.shutdown()
        }
    }

    @Test func aSlowHeadGetsTheCatalogs408AndTheConnectionCloses() async throws {
        let rig = try await Rig.make()
        try rig.channel.writeInbound(ByteBuffer(string: "GET /api/v1/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: 1"))
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(900))
        #expect(try rig.written().isEmpty)
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        let answer = try rig.written()
        #expect(answer.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(answer.contains("Connection: close\r\n"))
        #expect(answer.hasSuffix(#"{"error":"request_timeout","message":"the request did not arrive in time"}"#))
        #expect(!rig.channel.isActive)
        await rig.stop()
    }

    @Test func aRefusedRequestIsAnsweredFromTheCatalog() async throws {
        let rig = try await Rig.make()
        try rig.channel.writeInbound(ByteBuffer(string: "TRACE /api/v1/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
        let answer = try rig.written()
        #expect(answer.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
        #expect(answer.contains(#""error":"method_not_allowed""#))
        await rig.stop()
    }

    @Test func aMalformedRequestLineBehindARefusedOneGetsNothingMore() async throws {
        let rig = try await Rig.make()
        // The first request is refused and ends the connection; the bad line behind it is never answered.
        try rig.channel.writeInbound(
            ByteBuffer(string: "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\nGET  /two-spaces HTTP/1.1\r\n\r\n"))
        let answer = try rig.written()
        #expect(answer.hasPrefix("HTTP/1.1 405 "))
        #expect(answer.components(separatedBy: "HTTP/1.1 ").count == 2, "\(answer)")
        await rig.stop()
    }

    @Test func noTokenGets503WithTheReason() async throws {
        let rig = try await Rig.make(token: { _ in FakeTokenTransport.error(500, "server_error") })
        try rig.channel.writeInbound(ByteBuffer(string: "GET /api/v1/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
        let answer = try await rig.waitForAnswer()
        #expect(answer.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"), "\(answer)")
        #expect(answer.contains("Retry-After: "))
        #expect(answer.contains(#""error":"token_unavailable""#))
        await rig.stop()
    }

    @Test func anUnreachableUpstreamGets502ThroughCurl() async throws {
        let rig = try await Rig.make()
        try rig.channel.writeInbound(ByteBuffer(string: "GET /api/v1/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
        let answer = try await rig.waitForAnswer()
        #expect(answer.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"), "\(answer)")
        #expect(answer.contains(#""error":"upstream_unreachable""#))
        // The request was read to its end, so the connection goes on.
        #expect(!answer.contains("Connection: close"))
        #expect(rig.channel.isActive)
        await rig.stop()
    }
}
