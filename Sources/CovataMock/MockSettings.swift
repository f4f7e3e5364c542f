/// The credentials and token behaviour covata-mock starts with.
public struct MockSettings: Sendable {
    public var clientID = "exampleClientApplication"
    public var clientSecret = "exampleClientApplicationSecret"
    public var username = "svc-legacy@example.com"
    public var password = "correct horse battery staple"
    /// `expires_in` of issued access tokens.
    public var tokenLifetimeSeconds: Double = 3600
    /// Lifetime of refresh tokens (Spring's default is 30 days).
    public var refreshTokenLifetimeSeconds: Double = 30 * 86400
    /// How issued tokens relate to each other (see `MockTokenStoreKind`).
    public var tokenStore = MockTokenStoreKind.independent
    /// Whether answers carry a refresh token.
    public var issueRefreshTokens = true
    /// Redirect URIs the client application registered for the code flow; empty accepts any.
    public var redirectURIs: [String] = []

    public init() {}
}
