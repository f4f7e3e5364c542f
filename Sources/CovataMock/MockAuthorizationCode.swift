import Crypto
import Foundation

/// An authorization code waiting to be exchanged, with what the exchange must match (RFC 6749 §4.1.3, RFC 7636).
struct MockAuthorizationCode: Sendable {
    var redirectURI: String
    var codeChallenge: String?
    var challengeMethod: String
    var scope: String
    var expiresAt: Double

    /// Why `verifier` does not answer the challenge, or nil when it does (or none was set).
    func verifierProblem(_ verifier: String?) -> String? {
        guard let codeChallenge else { return nil }
        guard let verifier, !verifier.isEmpty else { return "Code verifier required" }
        let derived: String
        if challengeMethod == "S256" {
            derived = JWT.base64URL(Array(SHA256.hash(data: Array(verifier.utf8))))
        } else {
            derived = verifier
        }
        return derived == codeChallenge ? nil : "Invalid code verifier"
    }
}
