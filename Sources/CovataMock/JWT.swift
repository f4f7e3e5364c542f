import Crypto
import Foundation

/// HS256 JWTs, shaped like the RS256 ones Covata issues (header, claims with exp, jti, user_name).
enum JWT {
    static func sign(claims: [String: Any], key: [UInt8]) -> String {
        let header = base64URL(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = base64URL(
            Array((try? JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])) ?? Data()))
        let signingInput = "\(header).\(payload)"
        return "\(signingInput).\(base64URL(hmacSHA256(key: key, message: Array(signingInput.utf8))))"
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// Lower-case hex of a SHA-256 digest, as the echo's `bodySHA256` reports it.
    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
