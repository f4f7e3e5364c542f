import Logging
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
        let now = NIODeadline.now()
        var fields: Logger.Metadata = [
            "route": .string(forwarder.name), "client": .string(client), "method": .string(method),
            "path": .string(Self.pathWithoutQueryValues(exchange.head.uri)),
            "status": .stringConvertible(exchange.status), "bytes_in": .stringConvertible(exchange.bodyBytes),
            "bytes_out": .stringConvertible(exchange.bytesOut),
            "duration_ms": .stringConvertible(Self.milliseconds(now - exchange.startedAt)),
            "replayed": .stringConvertible(exchange.replayed),
        ]
        if let code = exchange.errorCode { fields["error"] = .string(code) }
        if let sent = exchange.upstreamSentAt, let head = exchange.upstreamHeadAt {
            fields["upstream_ms"] = .stringConvertible(Self.milliseconds(head - sent))
        }
        if let jti = exchange.token?.jti { fields["jti"] = .string(jti) }
        forwarder.logger.info("request", metadata: fields)
    }

    /// Milliseconds with microsecond resolution.
    static func milliseconds(_ interval: TimeAmount) -> Double {
        (Double(interval.nanoseconds) / 1000).rounded() / 1000
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
