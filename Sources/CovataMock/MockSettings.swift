/// The credentials and token behaviour covata-mock starts with.
public struct MockSettings: Sendable {
    public var clientID = "exampleClientApplication"
    public var clientSecret = "exampleClientApplicationSecret"
    public var username = "svc-legacy@example.com"
    public var password = "correct horse battery staple"
    /// `expires_in` of issued access tokens.
    public var tokenLifetimeSeconds: Double = 3600
    /// Whether answers carry a (rotating) refresh token.
    public var issueRefreshTokens = true
    /// Redirect URIs the client application registered for the code flow; empty accepts any.
    public var redirectURIs: [String] = []

    public init() {}
}
