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
}
