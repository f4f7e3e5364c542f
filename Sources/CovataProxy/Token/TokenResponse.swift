import Foundation
import ProxyConfiguration

/// Interprets a token endpoint answer (RFC 6749 §5.1 success, §5.2 error) as Covata sends it.
enum TokenResponse {
    /// - Parameters:
    ///   - obtainedAt: monotonic time the request was sent (the token's lifetime counts from there).
    ///   - wallClock: Unix time now, to turn a JWT `exp` into a lifetime.
    static func interpret(
        _ response: TokenHTTPResponse, grant: TokenGrant, obtainedAt: Double, wallClock: Double,
        defaultLifetime: Double
    ) -> Result<AccessToken, TokenFailure> {
        let members = jsonObject(response.body)
        guard response.status == 200 else {
            return .failure(classifyError(status: response.status, members: members, grant: grant))
        }
        guard let members else { return .failure(.transient(reason: "token endpoint answered malformed JSON")) }
        guard case .string(let value)? = members["access_token"], !value.isEmpty else {
            return .failure(.transient(reason: "token response has no access_token"))
        }
        guard case .string(let type)? = members["token_type"], type.lowercased() == "bearer" else {
            return .failure(.transient(reason: "token response token_type is not bearer"))
        }
        let claims = JWTClaims(token: value)
        let lifetime: Double
        // `expires_in: 0`, or an `exp` in the past, says expired: the default lifetime is only for a token that
        // says nothing about it.
        if let expiresIn = number(members["expires_in"]) {
            lifetime = max(0, expiresIn)
        } else if let exp = claims?.expiry {
            lifetime = max(0, exp - wallClock)
        } else {
            lifetime = defaultLifetime
        }
        var refresh: Secret?
        if case .string(let token)? = members["refresh_token"], !token.isEmpty { refresh = Secret(token) }
        var jti = claims?.jti
        if case .string(let id)? = members["jti"] { jti = id }
        var scope: String?
        if case .string(let text)? = members["scope"] { scope = text }
        return .success(
            AccessToken(
                value: Secret(value), refreshToken: refresh, jti: jti.map(sanitised), scope: scope.map(sanitised),
                lifetime: lifetime, obtainedAt: obtainedAt))
    }

    /// RFC 6749 §5.2 and Spring's behaviour: what a refusal means for the next step.
    /// `error_description` is never read: Spring echoes the token in it.
    private static func classifyError(status: Int, members: [String: JSONValue]?, grant: TokenGrant) -> TokenFailure {
        var code = ""
        if case .string(let text)? = members?["error"] { code = sanitised(text) }
        let label = code.isEmpty ? "HTTP \(status)" : code
        switch (status, code, grant) {
        case (500...599, _, _), (429, _, _), (408, _, _):
            return .transient(reason: "token endpoint answered HTTP \(status)")
        case (_, "invalid_client", _), (_, "unauthorized_client", _):
            return .credentialsRejected(error: label)
        case (400, "invalid_grant", .refreshToken), (401, "invalid_token", .refreshToken):
            return .grantRejected(error: label)
        case (400, _, _), (401, _, _):
            // Wrong password (invalid_grant), or Basic auth refused: retrying would only count towards a lockout.
            return .credentialsRejected(error: label)
        default:
            return .transient(reason: "token endpoint answered HTTP \(status)")
        }
    }

    private static func jsonObject(_ body: [UInt8]) -> [String: JSONValue]? {
        guard let value = try? JSONValue.parse(body),
            case .object(let members) = value
        else { return nil }
        return members
    }

    private static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .number(let number)?: number
        case .string(let text)?: Double(text)
        default: nil
        }
    }

    /// Keeps identifiers log-safe: short, printable, no quotes or control bytes.
    static func sanitised(_ text: String) -> String {
        let allowed = text.unicodeScalars.filter {
            $0.isASCII && ($0.properties.isAlphabetic || "0123456789-_.: ".unicodeScalars.contains($0))
        }
        return String(String.UnicodeScalarView(allowed.prefix(128)))
    }
}
