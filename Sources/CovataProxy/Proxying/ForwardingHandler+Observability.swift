import NIOCore

/// The access-log line and the per-request metrics, written once an exchange ends.
extension ForwardingHandler {
    func record(_ exchange: Exchange) {
        // A request that ended before any answer (client gone) is logged with status 0.
        let method = exchange.head.method.rawValue
        forwarder.routeMetrics.request(
            method: method, status: exchange.status, bytesIn: exchange.bodyBytes,
            bytesOut: exchange.bytesOut)
        guard forwarder.settings.accessLog else { return }
        let milliseconds = (NIODeadline.now() - exchange.startedAt).nanoseconds / 1_000_000
        forwarder.logger.info(
            "request",
            metadata: [
                "route": "\(forwarder.name)", "method": "\(method)",
                "path": "\(Self.pathWithoutQueryValues(exchange.head.uri))",
                "status": "\(exchange.status)", "bytes_in": "\(exchange.bodyBytes)",
                "bytes_out": "\(exchange.bytesOut)",
                "duration_ms": "\(milliseconds)", "replayed": "\(exchange.replayed)",
            ])
    }

    /// `/a/b?user=x&id=7` → `/a/b?user&id`: query values can carry personal data or credentials.
    static func pathWithoutQueryValues(_ target: String) -> String {
        guard let question = target.firstIndex(of: "?") else { return target }
        let keys = target[target.index(after: question)...].split(separator: "&").map {
            $0.split(separator: "=", maxSplits: 1).first ?? ""
        }
        return String(target[..<question]) + "?" + keys.joined(separator: "&")
    }
}
