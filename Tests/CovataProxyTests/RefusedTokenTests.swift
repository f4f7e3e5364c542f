import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration
@testable import CurlClient

/// Issue #26, 1: an upstream 401 never carries the proxy's token to the client, in any form. A hostile upstream
/// echoes the bearer token it was sent in every place an answer has: the reason phrase, header fields, a base64 or
/// gzip body, a chunked body, a body too big to hold.
@Suite struct RefusedTokenTests {
    static let places = ["reason", "header", "base64", "gzip", "chunked", "oversized", "spring"]

    @Test(arguments: places)
    func theClientGetsTheProxysOwn401(place: String) async throws {
        let upstream = EchoingUpstream()
        try await upstream.start()
        defer { Task { await upstream.stop() } }
        try await ProxyHarness.with(configure: {
            $0.routes[0].upstream = UpstreamURL(scheme: "http", host: "127.0.0.1", port: upstream.port, basePath: "")
        }) { harness in
            let raw = try await RawHTTPClient.exchange(
                port: harness.port(),
                "GET /\(place) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
            let tokens = harness.mock.state.issuedTokens
            #expect(!tokens.isEmpty)
            for token in tokens {
                #expect(raw.firstRange(of: Array(token.utf8)) == nil, "the token reached the client")
                let encoded = Data(token.utf8).base64EncodedString()
                #expect(raw.firstRange(of: Array(encoded.utf8)) == nil, "the token reached the client in base64")
            }
            let answer = try ParsedResponse(raw)
            #expect(answer.status == 401)
            #expect(String(decoding: raw.prefix(26), as: UTF8.self) == "HTTP/1.1 401 Unauthorized\r")
            #expect(answer.header("X-Debug") == nil)
            #expect(answer.header("Content-Encoding") == nil)
            let challenge = try #require(answer.header("WWW-Authenticate"))
            #expect(challenge.hasPrefix("Bearer"))
            #expect(!challenge.contains("error_description"))
            let error = try #require(answer.json["error"] as? String)
            #expect(TokenRejection.knownCodes.contains(error))
            #expect(answer.header("Content-Length") == "\(answer.body.count)")
        }
    }

    @Test func theChallengeKeepsOnlyTheCodeAndAPlainRealm() {
        let head = Self.head(
            #"WWW-Authenticate: Bearer realm="oauth2-resource", error="invalid_token", error_description="Invalid access token: abc""#
        )
        let rejection = TokenRejection(head: head, body: ByteBuffer(), token: "abc")
        #expect(rejection.isInvalidToken)
        #expect(rejection.challenge == #"Bearer realm="oauth2-resource", error="invalid_token""#)
        let odd = TokenRejection(
            head: Self.head(#"WWW-Authenticate: Bearer realm="x abc", error="made_up""#),
            body: ByteBuffer(), token: "abc")
        #expect(odd.realm == nil)
        #expect(odd.error == "unauthorized")
        #expect(odd.challenge == "Bearer")
        let fromBody = TokenRejection(
            head: Self.head(),
            body: ByteBuffer(string: #"{"error":"invalid_token","error_description":"abc"}"#), token: "abc")
        #expect(fromBody.isInvalidToken)
    }
}

extension RefusedTokenTests {
    /// A 401 head with these field lines, as curl's header callback assembles it.
    static func head(_ fields: String...) -> CurlResponseHead {
        HandlerUnitTests.feed(["HTTP/1.1 401 Unauthorized\r\n"] + fields.map { $0 + "\r\n" } + ["\r\n"]).0!
    }
}

/// An upstream that answers 401 with the bearer token it received hidden somewhere, chosen by the request's path.
final class EchoingUpstream: Sendable {
    private let channel = Mutex<(any Channel)?>(nil)
    var port: Int { channel.withLock { $0?.localAddress?.port ?? 0 } }

    func start() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Handler()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        channel.withLock { $0 = server }
    }

    func stop() async { try? await channel.withLock { $0 }?.close() }

    static func reply(path: String, token: String) -> [UInt8] {
        let challenge =
            #"Bearer realm="oauth2-resource", error="invalid_token", error_description="Invalid access token: \#(token)""#
        let json = Array(#"{"error":"invalid_token","error_description":"Invalid access token: \#(token)"}"#.utf8)
        func answer(_ status: String, _ fields: [String], _ body: [UInt8]) -> [UInt8] {
            Array((["HTTP/1.1 \(status)"] + fields + ["", ""]).joined(separator: "\r\n").utf8) + body
        }
        switch path {
        case "/reason":
            return answer("401 Invalid \(token)", ["Content-Length: 0"], [])
        case "/header":
            return answer(
                "401 Unauthorized", ["WWW-Authenticate: realm=\"\(token)\"", "X-Debug: \(token)", "Content-Length: 0"],
                [])
        case "/base64":
            let body = Array(#"{"error":"unauthorized","detail":"\#(Data(token.utf8).base64EncodedString())"}"#.utf8)
            return answer(
                "401 Unauthorized", ["Content-Type: application/json", "Content-Length: \(body.count)"], body)
        case "/gzip":
            let body = Gzip.stored(json)
            return answer(
                "401 Unauthorized",
                ["WWW-Authenticate: \(challenge)", "Content-Encoding: gzip", "Content-Length: \(body.count)"], body)
        case "/chunked":
            let hex = String(json.count, radix: 16)
            return answer(
                "401 Unauthorized", ["Transfer-Encoding: chunked"],
                Array("\(hex)\r\n".utf8) + json
                    + Array("\r\n0\r\n\r\n".utf8))
        case "/oversized":
            let body = [UInt8](repeating: UInt8(ascii: " "), count: 100_000) + Array(token.utf8)
            return answer(
                "401 Unauthorized", ["WWW-Authenticate: \(challenge)", "Content-Length: \(body.count)"], body)
        default:
            return answer(
                "401 Unauthorized",
                ["WWW-Authenticate: \(challenge)", "Content-Type: application/json", "Content-Length: \(json.count)"],
                json)
        }
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private var received: [UInt8] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += unwrapInboundIn(data).readableBytesView
            guard let end = received.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
            let head = String(decoding: received[..<end.lowerBound], as: UTF8.self)
            received.removeSubrange(..<end.upperBound)
            let lines = head.components(separatedBy: "\r\n")
            let path = lines.first?.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            let token =
                lines.first { $0.lowercased().hasPrefix("authorization: bearer ") }.map {
                    String($0.dropFirst("authorization: bearer ".count))
                } ?? ""
            context.writeAndFlush(
                wrapOutboundOut(ByteBuffer(bytes: EchoingUpstream.reply(path: path, token: token))),
                promise: nil)
        }
    }
}

/// A gzip member holding its data in one stored (uncompressed) deflate block (RFC 1952, RFC 1951 §3.2.4).
enum Gzip {
    static func stored(_ data: [UInt8]) -> [UInt8] {
        precondition(data.count < 65_536)
        let length = UInt16(data.count)
        var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0x01]
        out += [UInt8(length & 0xff), UInt8(length >> 8), UInt8(~length & 0xff), UInt8(~length >> 8)]
        out += data
        let crc = crc32(data)
        out += (0..<4).map { UInt8((crc >> (8 * $0)) & 0xff) }
        out += (0..<4).map { UInt8((UInt32(data.count) >> (8 * $0)) & 0xff) }
        return out
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
