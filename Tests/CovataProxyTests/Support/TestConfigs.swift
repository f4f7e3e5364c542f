@testable import CovataProxy
@testable import ProxyConfiguration

/// Config values for in-process tests.
enum TestConfigs {
    static func oauth(
        tokenURL: String = "http://127.0.0.1:9/api/oauth/token", password: String = "correct horse battery staple"
    )
        -> OAuthConfig
    {
        OAuthConfig(
            tokenURL: try! EndpointURL(parsing: tokenURL), clientID: "exampleClientApplication",
            clientSecret: Secret("exampleClientApplicationSecret"),
            signIn: .password(username: "svc-legacy@example.com", password: Secret(password)), scope: nil,
            stateFile: nil, refreshAheadSeconds: 60, defaultLifetimeSeconds: 300,
            rejectedRetrySeconds: 900, retryInitialSeconds: 1, retryMaxSeconds: 60)
    }
}
