import Foundation
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// Interpreting the token endpoint's answers (RFC 6749 §5.1, §5.2, Spring's error shapes).
@Suite struct TokenResponseTests {
    static func interpret(
        _ status: Int, _ body: String, grant: TokenGrant = .password(username: "u", password: Secret("p"))
    ) -> Result<AccessToken, TokenFailure> {
        TokenResponse.interpret(
            TokenHTTPResponse(status: status, body: Array(body.utf8)), grant: grant, obtainedAt: 100,
            wallClock: 1_700_000_000, defaultLifetime: 300)
    }

    /// A JWT whose payload is `claims` (signature not checked).
    static func jwt(_ claims: String) -> String {
        let payload = Data(claims.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return "eyJhbGciOiJSUzI1NiJ9.\(payload).c2ln"
    }

    @Test func fullCovataAnswer() throws {
        let body =
            #"{"access_token":"abc","token_type":"bearer","refresh_token":"r1","expires_in":43199,"scope":"read write","jti":"9f1c","extra":{"ignored":true}}"#
        let token = try Self.interpret(200, body).get()
        #expect(token.value.value == "abc")
        #expect(token.refreshToken?.value == "r1")
        #expect(token.lifetime == 43199)
        #expect(token.expiresAt == 100 + 43199)
        #expect(token.scope == "read write")
        #expect(token.jti == "9f1c")
    }

    struct LifetimeCase: Sendable, CustomTestStringConvertible {
        let name: String
        let body: String
        let lifetime: Double
        var testDescription: String { name }
    }

    static let lifetimes: [LifetimeCase] = [
        LifetimeCase(
            name: "expires_in number", body: #"{"access_token":"a","token_type":"bearer","expires_in":60}"#,
            lifetime: 60),
        LifetimeCase(
            name: "expires_in string", body: #"{"access_token":"a","token_type":"bearer","expires_in":"90"}"#,
            lifetime: 90),
        LifetimeCase(
            name: "JWT exp when expires_in is missing",
            body: #"{"access_token":"\#(jwt(#"{"exp":1700000120,"jti":"from-jwt"}"#))","token_type":"Bearer"}"#,
            lifetime: 120),
        LifetimeCase(
            name: "configured default", body: #"{"access_token":"opaque-uuid","token_type":"BEARER"}"#, lifetime: 300),
        // Issue #25, 6: expired means expired, not the default lifetime.
        LifetimeCase(
            name: "zero expires_in is expired", body: #"{"access_token":"a","token_type":"bearer","expires_in":0}"#,
            lifetime: 0),
        LifetimeCase(
            name: "a JWT exp in the past is expired",
            body: #"{"access_token":"\#(jwt(#"{"exp":1699999000}"#))","token_type":"Bearer"}"#, lifetime: 0),
    ]

    @Test(arguments: lifetimes)
    func lifetimeFallbacks(_ item: LifetimeCase) throws {
        #expect(try Self.interpret(200, item.body).get().lifetime == item.lifetime)
    }

    @Test func jtiFromJWTWhenNotInTheAnswer() throws {
        let body = #"{"access_token":"\#(Self.jwt(#"{"exp":1700000120,"jti":"from-jwt"}"#))","token_type":"bearer"}"#
        #expect(try Self.interpret(200, body).get().jti == "from-jwt")
    }

    struct FailureCase: Sendable, CustomTestStringConvertible {
        let status: Int
        let body: String
        let refresh: Bool
        let expected: TokenFailure
        var testDescription: String { "\(status) \(body.prefix(40)) refresh=\(refresh)" }
    }

    static let failures: [FailureCase] = [
        FailureCase(
            status: 400, body: #"{"error":"invalid_grant","error_description":"Bad credentials"}"#, refresh: false,
            expected: .credentialsRejected(error: "invalid_grant")),
        FailureCase(
            status: 400, body: #"{"error":"invalid_grant","error_description":"Invalid refresh token: xyz"}"#,
            refresh: true,
            expected: .grantRejected(error: "invalid_grant")),
        FailureCase(
            status: 401, body: #"{"error":"invalid_token","error_description":"Invalid refresh token (expired): xyz"}"#,
            refresh: true,
            expected: .grantRejected(error: "invalid_token")),
        FailureCase(
            status: 401, body: #"{"error":"invalid_client","error_description":"Bad client credentials"}"#,
            refresh: true,
            expected: .credentialsRejected(error: "invalid_client")),
        FailureCase(status: 401, body: "", refresh: false, expected: .credentialsRejected(error: "HTTP 401")),
        FailureCase(
            status: 400, body: #"{"error":"unauthorized_client"}"#, refresh: false,
            expected: .credentialsRejected(error: "unauthorized_client")),
        FailureCase(
            status: 500, body: "<html>", refresh: false,
            expected: .transient(reason: "token endpoint answered HTTP 500")),
        FailureCase(
            status: 503, body: #"{"error":"invalid_grant"}"#, refresh: false,
            expected: .transient(reason: "token endpoint answered HTTP 503")),
        FailureCase(
            status: 429, body: "", refresh: false, expected: .transient(reason: "token endpoint answered HTTP 429")),
        FailureCase(
            status: 404, body: "", refresh: false, expected: .transient(reason: "token endpoint answered HTTP 404")),
        FailureCase(
            status: 200, body: "<html>oops", refresh: false,
            expected: .transient(reason: "token endpoint answered malformed JSON")),
        FailureCase(
            status: 200, body: #"{"access_token":"eyJ"#, refresh: false,
            expected: .transient(reason: "token endpoint answered malformed JSON")),
        FailureCase(
            status: 200, body: #"{"token_type":"bearer"}"#, refresh: false,
            expected: .transient(reason: "token response has no access_token")),
        FailureCase(
            status: 200, body: #"{"access_token":"a","token_type":"mac"}"#, refresh: false,
            expected: .transient(reason: "token response token_type is not bearer")),
    ]

    @Test(arguments: failures)
    func failuresAreClassified(_ item: FailureCase) {
        let password = TokenGrant.password(username: "u", password: Secret("p"))
        let grant: TokenGrant = item.refresh ? .refreshToken(Secret("xyz")) : password
        guard case .failure(let failure) = Self.interpret(item.status, item.body, grant: grant) else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure == item.expected)
        #expect(!failure.reason.contains("xyz"))
    }

    @Test func errorCodesAreSanitisedBeforeLogging() {
        let body = #"{"error":"invalid_grant\"\n<script>"}"#
        guard case .failure(let failure) = Self.interpret(400, body) else {
            Issue.record("expected failure")
            return
        }
        #expect(!failure.reason.contains("\n"))
        #expect(!failure.reason.contains("\""))
    }
}
