import Logging
import NIOCore

/// The access-log line and the per-request metrics, written once an exchange ends.
extension ForwardingHandler {
    func record(_ exchange: Exchange) {
        // A request that ended before any answer (client gone) is logged with status 0.
        let method = exchange.head.method.rawValue
        forwarder.routeMetrics.request(
            method: method, status: exchange.status, error: exchange.errorCode, bytesIn: exchange.bodyBytes,
            bytesOut: exchange.bytesOut)
        guard forwarder.settings.accessLog else { return }
        let record = AccessRecord(
            route: forwarder.name, client: client, method: method, path: Self.pathWithoutQueryValues(exchange.head.uri),
            status: exchange.status, error: exchange.errorCode, bytesIn: exchange.bodyBytes,
            bytesOut: exchange.bytesOut,
            durationMilliseconds: Self.milliseconds(NIODeadline.now() - exchange.startedAt),
            upstreamMilliseconds: exchange.upstreamHeadAt.flatMap { head in
                exchange.upstreamSentAt.map { Self.milliseconds(head - $0) }
            },
            replayed: exchange.replayed, jti: exchange.token?.jti)
        forwarder.logger.info("request", metadata: ["request": .stringConvertible(record)])
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
