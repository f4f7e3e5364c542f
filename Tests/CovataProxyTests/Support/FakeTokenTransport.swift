import CovataProxy
import Foundation
import Synchronization

/// A scripted token endpoint: answers each request with what `respond` returns for its form fields,
/// optionally holding every answer until `open()` is called.
final class FakeTokenTransport: TokenTransport {
    typealias Responder = @Sendable (_ form: [String: String]) -> Result<TokenHTTPResponse, TokenTransportError>

    private struct State {
        var requests: [[String: String]] = []
        var authorizations: [String] = []
        var gateOpen = true
        var waiting: [CheckedContinuation<Void, Never>] = []
        var responder: Responder
    }

    private let state: Mutex<State>

    init(holdAnswers: Bool = false, respond: @escaping Responder) {
        state = Mutex(State(gateOpen: !holdAnswers, responder: respond))
    }

    /// Form fields of every request, in order.
    var requests: [[String: String]] { state.withLock { $0.requests } }

    var authorizations: [String] { state.withLock { $0.authorizations } }

    func count(grant: String) -> Int { requests.filter { $0["grant_type"] == grant }.count }

    func setResponder(_ respond: @escaping Responder) { state.withLock { $0.responder = respond } }

    func open() {
        let waiting = state.withLock { state in
            state.gateOpen = true
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    func post(url: String, headers: [(name: String, value: String)], body: [UInt8]) async throws(TokenTransportError)
        -> TokenHTTPResponse
    {
        let form = Self.parseForm(body)
        let mustWait = state.withLock { state -> Bool in
            state.requests.append(form)
            state.authorizations.append(headers.first { $0.name == "Authorization" }?.value ?? "")
            return !state.gateOpen
        }
        if mustWait {
            await withCheckedContinuation { continuation in
                let openNow = state.withLock { state -> Bool in
                    if state.gateOpen { return true }
                    state.waiting.append(continuation)
                    return false
                }
                if openNow { continuation.resume() }
            }
        }
        let respond = state.withLock { $0.responder }
        return try respond(form).get()
    }

    static func parseForm(_ body: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? "" }
            fields[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }

    /// A Covata-shaped success body.
    static func success(
        access: String = "access-\(UUID().uuidString)", refresh: String? = "refresh-\(UUID().uuidString)",
        expiresIn: Int? = 300, type: String = "bearer"
    ) -> Result<TokenHTTPResponse, TokenTransportError> {
        var object: [String: Any] = [
            "access_token": access, "token_type": type, "scope": "read write", "jti": "jti-\(access.suffix(6))",
        ]
        if let refresh { object["refresh_token"] = refresh }
        if let expiresIn { object["expires_in"] = expiresIn }
        return .success(
            TokenHTTPResponse(status: 200, body: Array(try! JSONSerialization.data(withJSONObject: object))))
    }

    /// A Spring-shaped error body.
    static func error(_ status: Int, _ code: String, description: String = "Bad credentials")
        -> Result<TokenHTTPResponse, TokenTransportError>
    {
        let object = ["error": code, "error_description": description]
        return .success(
            TokenHTTPResponse(status: status, body: Array(try! JSONSerialization.data(withJSONObject: object))))
    }
}
