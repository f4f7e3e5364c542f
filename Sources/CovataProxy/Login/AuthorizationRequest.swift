import Crypto
import Foundation
import ProxyConfiguration

/// One sign-in attempt: the authorize URL the operator opens, with the `state` that ties the redirect to this
/// attempt (RFC 6749 §10.12) and the PKCE verifier that ties the code to this process (RFC 7636).
public struct AuthorizationRequest: Sendable {
    public let url: String
    public let redirectURI: RedirectURI
    public let state: String
    let codeVerifier: Secret?

    public init(config: OAuthConfig, settings: AuthorizationCodeConfig) {
        var generator = SystemRandomNumberGenerator()
        state = Self.base64URL((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
        redirectURI = settings.redirectURI
        var parameters = [
            ("response_type", "code"), ("client_id", config.clientID), ("redirect_uri", settings.redirectURI.text),
            ("state", state),
        ]
        if let scope = config.scope { parameters.append(("scope", scope)) }
        if settings.pkce {
            // 32 random bytes give the 43-character verifier RFC 7636 §4.1 recommends.
            let verifier = Self.base64URL((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
            codeVerifier = Secret(verifier)
            parameters.append(("code_challenge", Self.base64URL(Array(SHA256.hash(data: Array(verifier.utf8))))))
            parameters.append(("code_challenge_method", "S256"))
        } else {
            codeVerifier = nil
        }
        let query = parameters.map { "\($0.0)=\(TokenEndpointRequest.formEncode($0.1))" }.joined(separator: "&")
        url = settings.authorizeURL.text + (settings.authorizeURL.text.contains("?") ? "&" : "?") + query
    }

    /// The grant that exchanges `code` for tokens.
    func grant(code: String) -> TokenGrant {
        .authorizationCode(code: Secret(code), redirectURI: redirectURI.text, codeVerifier: codeVerifier)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// Why `covata-proxy login` could not finish; the message is for the operator and holds no secret.
public struct LoginError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
