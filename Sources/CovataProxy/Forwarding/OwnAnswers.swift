import CurlClient
import Foundation
import NIOCore
import NIOHTTP1

/// Every answer the proxy writes itself, in one place: the JSON answers to a request (`ProxyError.response`), the
/// bare refusals (for requests the request decoder refuses, where there is no request to name in
/// JSON), the 408 to a head that never finished, and the `100 Continue` interim answer. Each goes through
/// `ResponseEncoder`; each JSON answer to a request is counted in `covata_proxy_own_answers_total{error}`.
enum OwnAnswers {
    /// The bare refusals: no body, and the connection closes (the parser cannot find the next request).
    static func bare(_ status: HTTPResponseStatus) -> ClientResponseHead {
        ClientResponseHead(
            status: Int(status.code), reason: status.reasonPhrase,
            headers: [("Connection", "close"), ("Content-Length", "0")], framing: .length, completeBody: ByteBuffer())
    }

    /// An answer to no request (a head that never finished arriving), then the connection closes.
    static func alone(_ error: ProxyError) -> ClientResponseHead {
        let (status, _, headers, body) = error.response
        let fields = headers.map { ($0.name, $0.value) } + [("Connection", "close")]
        return ClientResponseHead(
            status: Int(status.code), reason: status.reasonPhrase, headers: fields, framing: .length,
            completeBody: ByteBuffer(bytes: body))
    }

    /// RFC 9110 §15.2.1: the interim answer to `Expect: 100-continue`.
    static var continueHead: ClientResponseHead { ClientResponseHead(status: 100, reason: "Continue", framing: .none) }
}

/// Everything that stops a request from being forwarded. Turned into an HTTP answer in one place
/// (`response`, below), never with internal details or secrets.
enum ProxyError: Error, Sendable, Equatable {
    case tokenUnavailable(TokenError)
    case upstreamUnreachable
    case upstreamTimedOut
    /// The upstream answered with a head we must not pass on.
    case upstreamBadResponse
    case connectNotSupported
    case methodNotAllowed(String)
    /// The route's `allowMethods` does not list the method.
    case methodNotAllowedHere(allowed: [String])
    case badRequest(String)
    case forbiddenHost(allowed: [String])
    /// The Host header names something other than this listener (DNS rebinding, a stray request).
    case misdirected(host: String)
    /// The caller failed one of the route's access checks; `code` says which.
    case callerRefused(code: String, message: String)
    case payloadTooLarge
    /// An `Expect` other than 100-continue.
    case expectationFailed
    case notImplemented(String)
    case requestTimeout
    case shuttingDown
    /// More requests in flight than `limits.maxConcurrentRequests`.
    case overloaded
    /// The upstream answered 401 to a request carrying the proxy's token: its answer may carry that token, so the
    /// client gets this one instead.
    case upstreamRefusedToken(TokenRejection)

    /// Maps a failed transfer that produced no response head.
    init(_ error: CurlError) {
        switch error.kind {
        case .timedOut: self = .upstreamTimedOut
        case .shutDown: self = .shuttingDown
        case .badResponse: self = .upstreamBadResponse
        default: self = .upstreamUnreachable
        }
    }
}

extension ProxyError {
    /// The one place errors become answers: status, headers (Content-Length included) and a short JSON body
    /// `{"error","message"}`; `code` is the body's `error`, also logged as the access log's `error`.
    var response: (status: HTTPResponseStatus, code: String, headers: HTTPHeaders, body: [UInt8]) {
        var headers = HTTPHeaders([("Content-Type", "application/json"), ("Cache-Control", "no-store")])
        let status: HTTPResponseStatus
        let code: String
        let message: String
        switch self {
        case .tokenUnavailable(.credentialsRejected(let retryAfter)):
            status = .serviceUnavailable
            code = "credentials_rejected"
            message = "Covata rejected the proxy's configured credentials; an operator must fix them"
            headers.add(name: "Retry-After", value: "\(retryAfter)")
        case .tokenUnavailable(.signInRequired(let command)):
            status = .serviceUnavailable
            code = "sign_in_required"
            message = "the proxy holds no valid Covata refresh token; an operator must run: \(command)"
            headers.add(name: "Retry-After", value: "60")
        case .tokenUnavailable(.unavailable(let reason, let retryAfter)):
            status = .serviceUnavailable
            code = "token_unavailable"
            message = "no Covata access token is available: \(reason)"
            headers.add(name: "Retry-After", value: "\(retryAfter)")
        case .upstreamUnreachable:
            status = .badGateway
            code = "upstream_unreachable"
            message = "the Covata service could not be reached"
        case .upstreamBadResponse:
            status = .badGateway
            code = "upstream_bad_response"
            message = "the Covata service sent a malformed answer, which was discarded"
        case .upstreamTimedOut:
            status = .gatewayTimeout
            code = "upstream_timeout"
            message = "the Covata service did not answer in time"
        case .connectNotSupported:
            // Clients often show only the status line of a failed CONNECT, so the advice is in the reason too.
            status = .custom(code: 405, reasonPhrase: "Method Not Allowed - use http:// URLs through this proxy")
            code = "method_not_allowed"
            message =
                "CONNECT (https:// through a proxy) cannot carry the Covata credential; "
                + "use http:// URLs through this proxy, or the route's base URL"
        case .badRequest(let why):
            status = .badRequest
            code = "bad_request"
            message = why
        case .methodNotAllowed(let why):
            status = .methodNotAllowed
            code = "method_not_allowed"
            message = why
        case .methodNotAllowedHere(let allowed):
            status = .methodNotAllowed
            code = "method_not_allowed"
            message = "this route forwards only \(allowed.joined(separator: ", "))"
            headers.add(name: "Allow", value: allowed.joined(separator: ", "))
        case .forbiddenHost(let allowed):
            status = .forbidden
            code = "host_not_allowed"
            message = "this proxy forwards only to its configured Covata hosts: \(allowed.joined(separator: ", "))"
        case .misdirected(let host):
            status = .misdirectedRequest
            code = "misdirected_request"
            message =
                "Host \"\(host.prefix(100))\" does not name this proxy; use its own address (127.0.0.1 or localhost)"
        case .callerRefused(let refusal, let why):
            status = .forbidden
            code = refusal
            message = why
        case .expectationFailed:
            status = .expectationFailed
            code = "expectation_failed"
            message = "only Expect: 100-continue is supported"
        case .payloadTooLarge:
            status = .payloadTooLarge
            code = "payload_too_large"
            message = "the request body is larger than this proxy accepts (limits.maxRequestBodyBytes)"
        case .notImplemented(let what):
            status = .notImplemented
            code = "not_implemented"
            message = "\(what) is not supported"
        case .requestTimeout:
            status = .requestTimeout
            code = "request_timeout"
            message = "the request did not arrive in time"
        case .overloaded:
            status = .serviceUnavailable
            code = "overloaded"
            message = "the proxy is handling as many requests as it may (limits.maxConcurrentRequests); retry shortly"
            headers.add(name: "Retry-After", value: "1")
        case .upstreamRefusedToken(let rejection):
            // A fixed status line, the upstream's error code (one of a known few) and realm: nothing else of its
            // answer, which may carry the token (RFC 6750 §3 for the challenge).
            status = .unauthorized
            code = rejection.error
            message = "the Covata service refused the request's credentials (\(rejection.error))"
            headers.add(name: "WWW-Authenticate", value: rejection.challenge)
        case .shuttingDown:
            status = .serviceUnavailable
            code = "shutting_down"
            message = "the proxy is shutting down"
            headers.add(name: "Retry-After", value: "1")
        }
        let body =
            (try? JSONSerialization.data(withJSONObject: ["error": code, "message": message], options: [.sortedKeys]))
            ?? Data()
        headers.add(name: "Content-Length", value: "\(body.count)")
        return (status, code, headers, Array(body))
    }
}
