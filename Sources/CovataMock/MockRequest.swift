import Crypto
import NIOHTTP1

/// A request as the mock saw it: head plus a small body, or only a hash of a large one.
struct MockRequest {
    var head: HTTPRequestHead
    var body: [UInt8] = []
    var bodyBytes = 0
    var hasher = SHA256()

    /// The path, also for absolute-form targets (what an HTTP proxy in front of the mock would send).
    var path: String {
        var target = Substring(head.uri)
        if let scheme = target.range(of: "://") {
            target = target[scheme.upperBound...]
            target = target.firstIndex(of: "/").map { target[$0...] } ?? "/"
        }
        return String(target.split(separator: "?", maxSplits: 1).first ?? "")
    }

    func queryAll(_ name: String) -> [String] {
        guard let query = head.uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return [] }
        return query.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1)
            return parts.first.map(String.init) == name && parts.count > 1 ? String(parts[1]) : nil
        }
    }

    func query(_ name: String) -> String? {
        guard let query = head.uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.first.map(String.init) == name { return parts.count > 1 ? String(parts[1]) : "" }
        }
        return nil
    }

    /// A query parameter with its percent-encoding undone.
    func queryDecoded(_ name: String) -> String? {
        query(name).map { $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? $0 }
    }

    /// The body as a form (`application/x-www-form-urlencoded`).
    var form: [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            fields[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }
}
