/// The state file's JSON, version 1. Plain: `state` is set. Encrypted: `sealed` holds AES-256-GCM's
/// nonce + ciphertext + tag (base64) of the plain document's `state`.
struct TokenStateDocument: Codable {
    static let formatName = "covata-proxy token state"

    struct State: Codable {
        var tokenURL: String
        var clientID: String
        var username: String?
        var refreshToken: String?
        var accessToken: String?
        var accessTokenExpiresAt: Double?
        var accessTokenLifetime: Double?
        var jti: String?
        var scope: String?
    }

    var format: String
    var version: Int
    var encryption: String?
    var sealed: String?
    var state: State?
}

extension TokenStateDocument.State {
    init(_ state: TokenState) {
        self.init(
            tokenURL: state.tokenURL, clientID: state.clientID, username: state.username,
            refreshToken: state.refreshToken?.value, accessToken: state.accessToken?.value,
            accessTokenExpiresAt: state.accessTokenExpiresAt, accessTokenLifetime: state.accessTokenLifetime,
            jti: state.jti, scope: state.scope)
    }

    var tokenState: TokenState {
        TokenState(
            tokenURL: tokenURL, clientID: clientID, username: username, refreshToken: refreshToken.map(Secret.init),
            accessToken: accessToken.map(Secret.init), accessTokenExpiresAt: accessTokenExpiresAt,
            accessTokenLifetime: accessTokenLifetime, jti: jti, scope: scope)
    }
}
