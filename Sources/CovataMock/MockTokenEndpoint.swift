import Foundation
import NIOHTTP1

/// `POST /api/oauth/token`: password, refresh_token and authorization_code grants with Basic client auth, as Spring
/// answers them.
struct MockTokenEndpoint {
    let state: MockState

    /// nil means "do not answer" (the hang fault).
    func respond(to request: MockRequest) -> (response: MockResponse?, delay: Double) {
        guard request.head.method == .POST else {
            return (.oauthError(.methodNotAllowed, "method_not_allowed", "Request method not supported"), 0)
        }
        let form = request.form
        let grant = form["grant_type"] ?? ""
        switch state.countTokenRequest(grant: grant) {
        case .none: return (answer(request, form: form, grant: grant), 0)
        case .delay(let seconds): return (answer(request, form: form, grant: grant), seconds)
        case .hang: return (nil, 0)
        case .status(let code):
            return (.oauthError(HTTPResponseStatus(statusCode: code), "server_error", "Injected failure"), 0)
        case .garbage:
            return (
                MockResponse(status: .ok, headers: [("Content-Type", "text/html")], body: Array("<html>oops".utf8)), 0
            )
        case .truncated:
            return (
                MockResponse(
                    status: .ok, headers: [("Content-Type", "application/json")],
                    body: Array(#"{"access_token":"eyJ"#.utf8)), 0
            )
        case .tokenType(let type):
            return (.json(.ok, ["access_token": "x.y.z", "token_type": type, "expires_in": 60]), 0)
        }
    }

    private func answer(_ request: MockRequest, form: [String: String], grant: String) -> MockResponse {
        let settings = state.settings
        guard clientAuthenticated(request, settings: settings) else {
            return .oauthError(
                .unauthorized, "invalid_client", "Bad client credentials",
                headers: [("WWW-Authenticate", #"Basic realm="oauth2/client""#)])
        }
        switch grant {
        case "password":
            guard form["username"] == settings.username, form["password"] == settings.password else {
                return .oauthError(.badRequest, "invalid_grant", "Bad credentials")
            }
            return answer(state.signIn(scope: form["scope"] ?? "read write"))
        case "refresh_token":
            let token = form["refresh_token"] ?? ""
            switch state.refresh(token) {
            case .issued(let issued):
                return answer(issued)
            case .unknown:
                // Spring echoes the token here; the proxy must never log or relay it.
                return .oauthError(.badRequest, "invalid_grant", "Invalid refresh token: \(token)")
            case .expired:
                return .oauthError(.unauthorized, "invalid_token", "Invalid refresh token (expired): \(token)")
            }
        case "authorization_code":
            let code = form["code"] ?? ""
            guard let pending = state.redeem(code: code) else {
                return .oauthError(.badRequest, "invalid_grant", "Invalid authorization code: \(code)")
            }
            guard form["redirect_uri"] == pending.redirectURI else {
                return .oauthError(.badRequest, "invalid_grant", "Redirect URI mismatch.")
            }
            if let problem = pending.verifierProblem(form["code_verifier"]) {
                return .oauthError(.badRequest, "invalid_grant", problem)
            }
            return answer(state.signIn(scope: pending.scope))
        default:
            return .oauthError(.badRequest, "unsupported_grant_type", "Unsupported grant type: \(grant)")
        }
    }

    private func answer(_ issued: MockTokenStore.Issued) -> MockResponse {
        var body: [String: Any] = [
            "access_token": issued.access, "token_type": "bearer", "expires_in": issued.expiresIn,
            "scope": issued.scope, "jti": issued.jti,
        ]
        if let refresh = issued.refresh { body["refresh_token"] = refresh }
        return .json(.ok, body, headers: [("Cache-Control", "no-store"), ("Pragma", "no-cache")])
    }

    private func clientAuthenticated(_ request: MockRequest, settings: MockSettings) -> Bool {
        guard let header = request.head.headers.first(name: "Authorization"), header.hasPrefix("Basic "),
            let decoded = Data(base64Encoded: String(header.dropFirst(6)))
        else { return false }
        return String(decoding: decoded, as: UTF8.self) == "\(settings.clientID):\(settings.clientSecret)"
    }
}
