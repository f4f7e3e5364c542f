import Foundation
import NIOHTTP1

/// `GET /api/oauth/authorize`: the start of the authorization-code flow. The mock plays a user who is already signed
/// in and approves at once, so it redirects straight back with a single-use code, as Spring does after the login
/// and approval pages.
struct MockAuthorizeEndpoint {
    let state: MockState

    func respond(to request: MockRequest) -> MockResponse {
        let settings = state.settings
        guard request.query("client_id") == settings.clientID else {
            return .oauthError(.badRequest, "invalid_client", "Bad client credentials")
        }
        guard let redirect = request.queryDecoded("redirect_uri"), !redirect.isEmpty else {
            return .oauthError(.badRequest, "invalid_request", "A redirect_uri must be supplied.")
        }
        guard settings.redirectURIs.isEmpty || settings.redirectURIs.contains(redirect) else {
            return .oauthError(
                .badRequest, "invalid_grant",
                "Invalid redirect: \(redirect) does not match one of the registered values.")
        }
        var parameters: [(String, String)] = []
        if request.query("response_type") == "code" {
            let code = state.issueCode(
                MockAuthorizationCode(
                    redirectURI: redirect, codeChallenge: request.queryDecoded("code_challenge"),
                    challengeMethod: request.queryDecoded("code_challenge_method") ?? "plain",
                    scope: request.queryDecoded("scope") ?? "read write",
                    expiresAt: Date().timeIntervalSince1970 + 300))
            parameters.append(("code", code))
        } else {
            parameters.append(("error", "unsupported_response_type"))
            let asked = request.queryDecoded("response_type") ?? ""
            parameters.append(("error_description", "Unsupported response types: \(asked)"))
        }
        if let clientState = request.queryDecoded("state") { parameters.append(("state", clientState)) }
        let query = parameters.map { "\($0.0)=\(Self.encode($0.1))" }.joined(separator: "&")
        let location = redirect + (redirect.contains("?") ? "&" : "?") + query
        return MockResponse(status: .found, headers: [("Location", location), ("Cache-Control", "no-store")])
    }

    private static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
            ?? text
    }
}
