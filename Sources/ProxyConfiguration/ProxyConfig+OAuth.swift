import Foundation

/// The `oauth` object: endpoint, client, grant and token state file.
extension ProxyConfig {
    static func parseOAuth(_ reader: ConfigReader) throws(ConfigError) -> OAuthConfig {
        try reader.rejectUnknownKeys([
            "tokenURL", "clientID", "clientSecret", "grant", "username", "password", "authorizeURL", "redirectURI",
            "pkce", "scope", "stateFile", "stateKey", "refreshAheadSeconds", "defaultLifetimeSeconds",
            "rejectedRetrySeconds", "retryInitialSeconds", "retryMaxSeconds", "minRenewalIntervalSeconds",
            "allowPlainHTTP",
        ])
        let allowPlainHTTP = try reader.bool("allowPlainHTTP", default: false)
        let tokenURL = try EndpointURL.parse(
            reader.requiredString("tokenURL"), keyPath: reader.keyPath("tokenURL"), allowPlainHTTP: allowPlainHTTP)
        let retryInitial = try reader.seconds("retryInitialSeconds", default: 1, range: 0.01...3600)
        let retryMax = try reader.seconds("retryMaxSeconds", default: 60, range: 0.01...86400)
        guard retryMax >= retryInitial else {
            throw ConfigError(reader.keyPath("retryMaxSeconds"), "expected at least retryInitialSeconds")
        }
        // No longer used: 401s are bounded by evidence now, not by a window. Still read, so a config that sets it
        // loads (and a value of the wrong type is still an error).
        _ = try reader.seconds("minRenewalIntervalSeconds", default: 30, range: 0...3600)
        let signIn = try parseSignIn(reader, tokenURL: tokenURL, allowPlainHTTP: allowPlainHTTP)
        let stateFile = try parseStateFile(reader)
        if case .authorizationCode = signIn, stateFile == nil {
            throw ConfigError(
                reader.keyPath("stateFile"),
                "required with grant \"authorization_code\": it keeps the refresh token that covata-proxy login stores")
        }
        return OAuthConfig(
            tokenURL: tokenURL,
            clientID: try reader.requiredString("clientID"),
            clientSecret: try reader.secret("clientSecret"),
            signIn: signIn,
            scope: try reader.string("scope"),
            stateFile: stateFile,
            refreshAheadSeconds: try reader.seconds("refreshAheadSeconds", default: 60, range: 0...86400),
            defaultLifetimeSeconds: try reader.seconds("defaultLifetimeSeconds", default: 300, range: 1...86400 * 30),
            rejectedRetrySeconds: try reader.seconds("rejectedRetrySeconds", default: 900, range: 1...86400 * 7),
            retryInitialSeconds: retryInitial,
            retryMaxSeconds: retryMax
        )
    }

    private static func parseSignIn(
        _ reader: ConfigReader, tokenURL: EndpointURL, allowPlainHTTP: Bool
    ) throws(ConfigError) -> OAuthSignIn {
        let codeOnlyKeys = ["authorizeURL", "redirectURI", "pkce"]
        switch try reader.string("grant") ?? "password" {
        case "password":
            if let key = codeOnlyKeys.first(where: { reader.value($0) != nil }) {
                throw ConfigError(reader.keyPath(key), "only used with \"grant\": \"authorization_code\"")
            }
            return .password(username: try reader.requiredString("username"), password: try reader.secret("password"))
        case "authorization_code":
            // The point of this grant is that no password is at rest: refuse one rather than ignore it.
            if let key = ["username", "password"].first(where: { reader.value($0) != nil }) {
                throw ConfigError(
                    reader.keyPath(key), "not used with \"grant\": \"authorization_code\"; remove it from proxy.json")
            }
            guard let authorizeText = try reader.string("authorizeURL") ?? defaultAuthorizeURL(tokenURL.text) else {
                throw ConfigError(
                    reader.keyPath("authorizeURL"), "required when tokenURL does not end in /token")
            }
            let authorizeURL = try EndpointURL.parse(
                authorizeText, keyPath: reader.keyPath("authorizeURL"), allowPlainHTTP: allowPlainHTTP)
            let redirectURI = try reader.string("redirectURI") ?? RedirectURI.defaultValue
            guard let redirectURI = RedirectURI(redirectURI) else {
                throw ConfigError(
                    reader.keyPath("redirectURI"),
                    "expected an https:// URL, or http:// on loopback such as \(RedirectURI.defaultValue)")
            }
            return .authorizationCode(
                AuthorizationCodeConfig(
                    authorizeURL: authorizeURL, redirectURI: redirectURI,
                    pkce: try reader.bool("pkce", default: true)))
        default:
            throw ConfigError(reader.keyPath("grant"), "expected \"password\" or \"authorization_code\"")
        }
    }

    /// Covata serves `/api/oauth/authorize` next to `/api/oauth/token`.
    private static func defaultAuthorizeURL(_ tokenURL: String) -> String? {
        guard tokenURL.hasSuffix("/token") else { return nil }
        return tokenURL.dropLast("token".count) + "authorize"
    }

    private static func parseStateFile(_ reader: ConfigReader) throws(ConfigError) -> StateFileConfig? {
        guard let file = try reader.string("stateFile").map(reader.resolvePath) else {
            if reader.value("stateKey") != nil {
                throw ConfigError(reader.keyPath("stateKey"), "only used together with stateFile")
            }
            return nil
        }
        try StateFileConfig.checkExisting(path: file, keyPath: reader.keyPath("stateFile"))
        var key: StateKey?
        if reader.value("stateKey") != nil {
            key = try StateKey(base64: try reader.secret("stateKey"), keyPath: reader.keyPath("stateKey"))
        }
        return StateFileConfig(path: file, key: key)
    }
}
