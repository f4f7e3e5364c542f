import Foundation
import ProxyConfiguration

/// The two claims we read from a JWT access token, without verifying it (Covata does that).
struct JWTClaims {
    var expiry: Double?
    var jti: String?

    /// nil when the token is not a JWT (Covata 2.x issued opaque UUIDs).
    init?(token: String) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64),
            let value = try? JSONValue.parse(Array(data)),
            case .object(let claims) = value
        else { return nil }
        if case .number(let exp)? = claims["exp"] { expiry = exp }
        if case .string(let id)? = claims["jti"] { jti = id }
    }
}
