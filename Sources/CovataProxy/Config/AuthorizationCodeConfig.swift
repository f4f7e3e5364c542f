/// What `covata-proxy login` needs for the authorization-code flow.
public struct AuthorizationCodeConfig: Sendable, Equatable {
    /// Covata's `/api/oauth/authorize`, next to the token endpoint unless configured.
    public var authorizeURL: String
    /// Registered with the client application; a loopback `http://` address makes `login` listen for it.
    public var redirectURI: RedirectURI
    /// Send an RFC 7636 S256 code challenge (servers that do not know PKCE ignore it).
    public var pkce: Bool
}
