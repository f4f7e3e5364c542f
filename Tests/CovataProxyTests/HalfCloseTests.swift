import NIOCore
import NIOPosix
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// Clients that shut down their sending side (TCP half-close) once their requests are out, as `printf … | nc -N`
/// and scripts calling `shutdown(SHUT_WR)` do. With `limits.answerHalfClosedClients`, every request sent gets its
/// answer, then the connection closes; by default (as nginx) such a client has gone, and what it asked for is
/// dropped at once.
@Suite struct HalfCloseTests {
    static func answering(_ config: inout ProxyConfig) { config.limits.answerHalfClosedClients = true }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let requests: String
        /// The request targets, in the order their answers must come.
        let targets: [String]
        var testDescription: String { name }
    }

    static let host = "Host: localhost\r\n"

    static let cases: [Case] = [
        Case(name: "one GET", requests: "GET /api/v1/a HTTP/1.1\r\n\(host)\r\n", targets: ["/api/v1/a"]),
        Case(name: "an HTTP/1.0 GET", requests: "GET /api/v1/a HTTP/1.0\r\n\r\n", targets: ["/api/v1/a"]),
        Case(
            name: "a slow answer", requests: "GET /api/v1/slow?delayMs=300 HTTP/1.1\r\n\(host)\r\n",
            targets: ["/api/v1/slow?delayMs=300"]),
        Case(
            name: "a POST with a body", requests: "POST /api/v1/p HTTP/1.1\r\n\(host)Content-Length: 5\r\n\r\nhello",
            targets: ["/api/v1/p"]),
        Case(
            name: "three pipelined GETs",
            requests: "GET /api/v1/a HTTP/1.1\r\n\(host)\r\nGET /api/v1/b HTTP/1.1\r\n\(host)\r\n"
                + "GET /api/v1/c HTTP/1.1\r\n\(host)\r\n",
            targets: ["/api/v1/a", "/api/v1/b", "/api/v1/c"]),
    ]

    @Test(arguments: cases)
    func everyRequestSentBeforeTheFINIsAnswered(_ item: Case) async throws {
        try await ProxyHarness.with(configure: Self.answering) { harness in
            let (received, closedAfter) = try await Self.exchange(port: harness.port(), item.requests, waitFor: nil)
            let text = String(decoding: received, as: UTF8.self)
            AnswersInOrder.expectOK(text, targets: item.targets)
            // Closed after the answers, not by the 75 s idle limit.
            #expect(closedAfter < .seconds(5))
        }
    }

    @Test func finOnAnIdleKeepAliveConnectionClosesIt() async throws {
        try await ProxyHarness.with { harness in
            let request = "GET /api/v1/a HTTP/1.1\r\n\(Self.host)\r\n"
            let (received, closedAfter) = try await Self.exchange(port: harness.port(), request, waitFor: "\"uri\"")
            #expect(String(decoding: received, as: UTF8.self).hasPrefix("HTTP/1.1 200 "))
            #expect(closedAfter < .seconds(5))
        }
    }

    @Test func finInTheMiddleOfABodyGets400() async throws {
        try await ProxyHarness.with(configure: Self.answering) { harness in
            let request = "PUT /api/v1/p HTTP/1.1\r\n\(Self.host)Content-Length: 100\r\n\r\nonly a little"
            let (received, _) = try await Self.exchange(port: harness.port(), request, waitFor: nil)
            #expect(String(decoding: received, as: UTF8.self).hasPrefix("HTTP/1.1 400 "))
            #expect(harness.mock.state.apiRequests <= 1)
        }
    }

    /// By default a FIN while a request waits for its answer means the client has gone: the connection closes at
    /// once, unanswered (the upstream's 10 s are not waited for), and the request slot is free again.
    @Test func byDefaultAFINAbandonsTheRequestInProgress() async throws {
        try await ProxyHarness.with { harness in
            let request = "GET /api/v1/slow?delayMs=10000 HTTP/1.1\r\n\(Self.host)\r\n"
            #expect(await eventually { harness.proxy.inFlightCount == 0 })
            let sending = Task { try await Self.exchange(port: harness.port(), request, waitFor: nil) }
            let (received, closedAfter) = try await sending.value
            #expect(received.isEmpty)
            // Far below the upstream's 10 s, whatever the machine's load.
            #expect(closedAfter < .seconds(5))
            #expect(await eventually { harness.proxy.inFlightCount == 0 })
        }
    }

    /// Writes `requests`, waits for `waitFor` to arrive if given, shuts down the sending side, and reads until the
    /// proxy closes. Returns everything read and how long the close took after the shutdown.
    static func exchange(
        port: Int, _ requests: String, waitFor: String?
    ) async throws -> (received: [UInt8], closedAfter: Duration) {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: requests))
            var received: [UInt8] = []
            var chunks = inbound.makeAsyncIterator()
            if let waitFor {
                while !String(decoding: received, as: UTF8.self).contains(waitFor),
                    let chunk = try await chunks.next()
                {
                    received += chunk.readableBytesView
                }
            }
            outbound.finish()
            let finishedAt = ContinuousClock.now
            while let chunk = try await chunks.next() { received += chunk.readableBytesView }
            return (received, ContinuousClock.now - finishedAt)
        }
    }
}
