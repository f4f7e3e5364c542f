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

    /// RFC 2104.
    static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var block =
            key.count > 64
            ? {
                var h = SHA256()
                h.update(key)
                return h.finalize()
            }() : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        var inner = SHA256()
        inner.update(block.map { $0 ^ 0x36 } + message)
        var outer = SHA256()
        outer.update(block.map { $0 ^ 0x5c } + inner.finalize())
        return outer.finalize()
    }
}
