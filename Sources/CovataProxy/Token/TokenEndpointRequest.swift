import Foundation
import ProxyConfiguration

/// Builds the exact wire form of a Covata token request: Basic client auth and a form body.
struct TokenEndpointRequest {
    let url: String
    let headers: [(name: String, value: String)]
    let body: [UInt8]

    init(config: OAuthConfig, grant: TokenGrant) {
        var fields: [(String, String)] = [("grant_type", grant.description)]
        switch grant {
        case .password(let username, let password):
            fields.append(("username", username))
            fields.append(("password", password.value))
        case .refreshToken(let token):
            fields.append(("refresh_token", token.value))
        case .authorizationCode(let code, let redirectURI, let verifier):
            fields.append(("code", code.value))
            fields.append(("redirect_uri", redirectURI))
            if let verifier { fields.append(("code_verifier", verifier.value)) }
        }
        // The code grant's scope was fixed by the authorize request (RFC 6749 §4.1.3 has no scope parameter).
        if let scope = config.scope, grant.sendsScope { fields.append(("scope", scope)) }
        let form = fields.map { "\(Self.formEncode($0.0))=\(Self.formEncode($0.1))" }.joined(separator: "&")
        // Covata documents Basic as base64 of the raw "clientID:clientSecret".
        let credentials = Data("\(config.clientID):\(config.clientSecret.value)".utf8).base64EncodedString()
        self.url = config.tokenURL.text
        self.headers = [
            ("Authorization", "Basic \(credentials)"),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
        ]
        self.body = Array(form.utf8)
    }

    /// application/x-www-form-urlencoded: everything but unreserved characters is percent-encoded.
    static func formEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
