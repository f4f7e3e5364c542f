import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// One connection to covata-mock: the token endpoint, the Bearer-protected API and the test controls.
final class MockHTTPHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private static let keptBodyLimit = 1 << 20
    private let state: MockState
    private var request: MockRequest?
    /// `?readDelayMs=N` on an upload: wait this long before each read, to play a slow upstream.
    private var readDelay: Int64 = 0

    init(state: MockState) {
        self.state = state
    }

    func channelActive(context: ChannelHandlerContext) {
        state.connectionAccepted()
        context.fireChannelActive()
    }

    func read(context: ChannelHandlerContext) {
        guard readDelay > 0 else {
            context.read()
            return
        }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .milliseconds(readDelay)) { loopBound.value.read() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = MockRequest(head: head)
            readDelay = request?.query("readDelayMs").flatMap { Int64($0) } ?? 0
        case .body(let buffer):
            request?.bodyBytes += buffer.readableBytes
            // swift-crypto hashes raw bytes; NIO lends them without a copy (hundreds of MiB in the streaming tests).
            buffer.withUnsafeReadableBytes { request?.hasher.update(bufferPointer: $0) }
            if let kept = request?.body.count, kept < Self.keptBodyLimit {
                request?.body.append(contentsOf: buffer.readableBytesView.prefix(Self.keptBodyLimit - kept))
            }
        case .end:
            guard let request else { return }
            self.request = nil
            readDelay = 0
            route(request, context: context)
        }
    }

    private func route(_ request: MockRequest, context: ChannelHandlerContext) {
        let path = request.path
        if path == "/api/oauth/token" {
            let (response, delay) = MockTokenEndpoint(state: state).respond(to: request)
            guard let response else { return }
            send(
                response, keepAlive: request.head.isKeepAlive, afterMilliseconds: Int64(delay * 1000), context: context)
        } else if path == "/api/oauth/authorize" {
            let response = MockAuthorizeEndpoint(state: state).respond(to: request)
            send(response, keepAlive: request.head.isKeepAlive, context: context)
        } else if path.hasPrefix("/__mock/") {
            send(MockControls(state: state).respond(to: request), keepAlive: request.head.isKeepAlive, context: context)
        } else if path.hasPrefix("/api/v1/") || path == "/api/v1" {
            guard let username = authorised(request, context: context) else { return }
            if path == "/api/v1/users/me/expire", request.head.method == .PUT {
                // "Sign out everywhere": the user's refresh tokens go; access tokens live until they expire.
                state.signOutEverywhere(username: username)
                send(.json(.ok, [:]), keepAlive: request.head.isKeepAlive, context: context)
            } else if path == "/api/v1/download" {
                MockDownload(
                    size: Int(request.query("size") ?? "") ?? 1024, cutAt: request.query("cutAt").flatMap { Int($0) },
                    state: state
                ).start(
                    head: request.head, handler: self, context: context)
            } else {
                // `?delayMs=N` plays a slow upstream, for timeout and drain tests.
                let delay = request.query("delayMs").flatMap { Int64($0) } ?? 0
                send(echo(request), keepAlive: request.head.isKeepAlive, afterMilliseconds: delay, context: context)
            }
        } else {
            send(.json(.notFound, ["error": "not_found"]), keepAlive: request.head.isKeepAlive, context: context)
        }
    }

    /// Spring's resource-server answers: 401 `unauthorized` without a token, 401 `invalid_token` with a bad one
    /// ("Invalid access token: …" when unknown or removed, "Access token expired: …" when expired).
    /// - Returns: the token's user, or nil once the refusal is sent.
    private func authorised(_ request: MockRequest, context: ChannelHandlerContext) -> String? {
        let headers = request.head.headers["Authorization"]
        guard headers.count == 1, let header = headers.first, header.hasPrefix("Bearer ") else {
            send(
                .oauthError(
                    .unauthorized, "unauthorized", "Full authentication is required to access this resource",
                    headers: [("WWW-Authenticate", #"Bearer realm="oauth2-resource""#)]),
                keepAlive: request.head.isKeepAlive, context: context)
            return nil
        }
        let token = String(header.dropFirst("Bearer ".count))
        let description: String
        switch state.check(accessToken: token) {
        case .valid: return state.username(of: token) ?? state.settings.username
        case .unknown: description = "Invalid access token: \(token)"
        case .expired: description = "Access token expired: \(token)"
        }
        send(
            .oauthError(
                .unauthorized, "invalid_token", description,
                headers: [
                    (
                        "WWW-Authenticate",
                        #"Bearer realm="oauth2-resource", error="invalid_token", error_description="\#(description)""#
                    )
                ]),
            keepAlive: request.head.isKeepAlive, context: context)
        return nil
    }

    /// What the API saw, so tests can assert exactly what the proxy forwarded.
    /// `?status=N` answers with that status, and each `respondHeader=Name:Value` adds a response header.
    private func echo(_ request: MockRequest) -> MockResponse {
        var hasher = request.hasher
        let headers = request.head.headers.map { [$0.name, $0.value] }
        let extra: [(String, String)] = request.queryAll("respondHeader").compactMap { pair in
            let decoded = pair.removingPercentEncoding ?? pair
            guard let colon = decoded.firstIndex(of: ":") else { return nil }
            return (String(decoded[..<colon]), String(decoded[decoded.index(after: colon)...]))
        }
        if let code = request.query("status").flatMap({ Int($0) }) {
            let status = HTTPResponseStatus(statusCode: code)
            let noBody = code == 204 || code == 304 || (100..<200).contains(code)
            return MockResponse(status: status, headers: extra, body: noBody ? [] : Array("status \(code)".utf8))
        }
        var response = MockResponse.json(
            .ok,
            [
                "method": request.head.method.rawValue, "uri": request.head.uri, "headers": headers,
                "bodyBytes": request.bodyBytes, "bodySHA256": JWT.hex(hasher.finalize()),
                "version": "\(request.head.version)",
            ])
        response.headers += extra
        return response
    }

    /// Sends `response` now, or after a delay.
    private func send(
        _ response: MockResponse, keepAlive: Bool, afterMilliseconds delay: Int64, context: ChannelHandlerContext
    ) {
        guard delay > 0 else {
            send(response, keepAlive: keepAlive, context: context)
            return
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .milliseconds(delay)) {
            let (handler, context) = loopBound.value
            handler.send(response, keepAlive: keepAlive, context: context)
        }
    }

    func send(_ response: MockResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders(response.headers)
        if response.status != .noContent, response.status != .notModified {
            headers.replaceOrAdd(name: "Content-Length", value: "\(response.body.count)")
        }
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))),
            promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        let channel = context.channel
        if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
    }
}
