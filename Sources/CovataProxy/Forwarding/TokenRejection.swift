import CurlClient
import Foundation
import NIOCore

/// Recognises the upstream's "this token is no good" answer (RFC 6750 §3.1 `invalid_token`), which Spring sends
/// as `WWW-Authenticate: Bearer … error="invalid_token"` and as a JSON body `{"error":"invalid_token"}`.
enum TokenRejection {
    static func isInvalidToken(head: CurlResponseHead, body: ByteBuffer) -> Bool {
        guard head.status == 401 else { return false }
        for (name, value) in head.headers where name.lowercased() == "www-authenticate" {
            let lower = value.lowercased()
            if lower.hasPrefix("bearer"),
                lower.contains("error=\"invalid_token\"") || lower.contains("error=invalid_token")
            {
                return true
            }
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        else { return false }
        return object["error"] as? String == "invalid_token"
    }

    /// What replaces the token in a relayed 401.
    static let marker = Array("[redacted]".utf8)

    /// `bytes` with every occurrence of `token` replaced by the marker; nil when it does not occur.
    static func redacting<Bytes: Collection<UInt8>>(_ token: String, in bytes: Bytes) -> [UInt8]? {
        let needle = Array(token.utf8)
        let haystack = Array(bytes)
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var out: [UInt8] = []
        var index = 0
        var found = false
        while index < haystack.count {
            if index + needle.count <= haystack.count, haystack[index] == needle[0],
                haystack[index..<index + needle.count].elementsEqual(needle)
            {
                out += marker
                index += needle.count
                found = true
            } else {
                out.append(haystack[index])
                index += 1
            }
        }
        return found ? out : nil
    }
}
