import CurlClient
import ProxyConfiguration

/// Asks a running proxy's admin listener whether it is ready (`/readyz`: a token is held) or alive (`/healthz`: it
/// answers at all), for `covata-proxy health`: a container health check or a probe that needs no curl in the image.
public enum AdminProbe {
    public enum Outcome: Sendable, Equatable {
        /// The endpoint answered 200: alive, or (`/readyz`) listeners up and a token held.
        case ready(String)
        /// The endpoint answered, but not 200; its reason.
        case notReady(String)
        /// Nothing answered at the admin address.
        case unreachable(String)
        /// The config has no admin listener, or one this probe cannot reach.
        case cannotAsk(String)
    }

    /// `live`: ask `/healthz` (the process runs and answers), not `/readyz`.
    public static func readiness(_ config: ProxyConfig, live: Bool = false) async -> Outcome {
        guard let admin = config.admin else {
            return .cannotAsk("no admin listener is configured (admin.listen); there is nothing to ask")
        }
        guard case .tcp(var host, let port) = admin.listen else {
            return .cannotAsk(
                "admin.listen is a unix socket; ask it with: curl --unix-socket PATH http://localhost/readyz")
        }
        // An unspecified address is reached on loopback.
        if host == "0.0.0.0" { host = "127.0.0.1" } else if host == "::" { host = "::1" }
        let url = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)/\(live ? "healthz" : "readyz")"
        let worker = CurlWorker()
        defer { worker.shutdown() }
        let request = CurlRequest(
            method: "GET", url: url, connectTimeoutMilliseconds: 2000, totalTimeoutMilliseconds: 5000)
        do {
            let response = try await worker.fetch(request, maxBodyBytes: 64 * 1024)
            let reason = String(decoding: response.body, as: UTF8.self).trimmingSpacesAndNewlines()
            return response.head.status == 200 ? .ready(reason) : .notReady(reason)
        } catch {
            return .unreachable("\(url): \(error.message)")
        }
    }
}

extension String {
    fileprivate func trimmingSpacesAndNewlines() -> String {
        var text = Substring(self)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        return String(text)
    }
}
