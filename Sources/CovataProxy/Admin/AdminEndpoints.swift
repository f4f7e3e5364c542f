import CurlClient
import Foundation
import NIOHTTP1
import ProxyObservability
import Synchronization

/// What the admin listener answers. Each endpoint returns a status and a body; `AdminHandler` writes them.
struct AdminEndpoints: Sendable {
    let tokens: TokenManager
    let drain: DrainFlag
    let metrics: ProxyMetrics
    /// Each route's bound listen address and upstream, for `/status`.
    let routes: [(listen: String, upstream: String)]
    let startedAt = Date()

    func respond(method: HTTPMethod, path: String) async -> (HTTPResponseStatus, String, [UInt8]) {
        guard method == .GET || method == .HEAD else {
            return (.methodNotAllowed, "text/plain", Array("GET only\n".utf8))
        }
        switch path {
        case "/healthz":
            return (.ok, "text/plain", Array("ok\n".utf8))
        case "/readyz":
            let (ready, reason) = await readiness()
            return (ready ? .ok : .serviceUnavailable, "text/plain", Array("\(reason)\n".utf8))
        case "/metrics":
            let token = await tokens.status()
            metrics.token(expiresAt: token.expiresAt, lastSuccessAt: token.lastSuccessAt)
            return (.ok, "text/plain; version=0.0.4", metrics.exposition())
        case "/status":
            return (.ok, "application/json", await status())
        default:
            return (.notFound, "text/plain", Array("not found: /healthz, /readyz, /metrics, /status\n".utf8))
        }
    }

    /// Ready only while a valid token is held, the listeners are up and the proxy is not draining.
    func readiness() async -> (Bool, String) {
        if drain.isDraining { return (false, "draining") }
        let status = await tokens.status()
        if status.hasValidToken { return (true, "ready") }
        if status.credentialsRejected { return (false, "credentials rejected by Covata") }
        if status.signInRequired { return (false, "sign-in required: run \(status.signInCommand)") }
        return (false, status.lastError.map { "no valid token: \($0)" } ?? "no valid token yet")
    }

    private func status() async -> [UInt8] {
        let token = await tokens.status()
        var tokenObject: [String: Any] = [
            "valid": token.hasValidToken, "credentialsRejected": token.credentialsRejected,
            "signInRequired": token.signInRequired, "hasRefreshToken": token.hasRefreshToken,
        ]
        if let jti = token.jti { tokenObject["jti"] = jti }
        if let scope = token.scope { tokenObject["scope"] = scope }
        if let seconds = token.secondsToExpiry { tokenObject["secondsToExpiry"] = Int(seconds) }
        if let error = token.lastError { tokenObject["lastError"] = error }
        let document: [String: Any] = [
            "version": BuildInfo.version,
            "libcurl": CurlRuntime.version,
            "uptimeSeconds": Int(Date().timeIntervalSince(startedAt)),
            "draining": drain.isDraining,
            "routes": routes.map { ["listen": $0.listen, "upstream": $0.upstream] },
            "token": tokenObject,
        ]
        let data =
            (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return Array(data) + [UInt8(ascii: "\n")]
    }
}

/// Set once the proxy starts to stop (`ProxyRuntime.drain`): readiness then says `draining`, so an orchestrator
/// stops sending traffic.
final class DrainFlag: Sendable {
    private let draining = Atomic(false)

    var isDraining: Bool { draining.load(ordering: .relaxed) }

    func begin() { draining.store(true, ordering: .relaxed) }
}
