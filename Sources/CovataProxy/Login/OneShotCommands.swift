import CurlClient
import Logging
import ProxyConfiguration

/// What `covata-proxy token` and `covata-proxy login` do with a token manager: one login over a curl worker of
/// their own, and the code exchange that ends a sign-in. The running proxy never calls these.
extension TokenManager {
    /// A token manager on its own curl worker, for the one-shot commands (`token`, `login`). Shut the worker down
    /// when done.
    public static func standalone(config: ProxyConfig, logger: Logger) -> (TokenManager, CurlWorker) {
        let worker = CurlWorker(options: config.curlOptions)
        let tokens = TokenManager(
            config: config.oauth, transport: CurlTokenTransport(worker: worker, timeouts: config.timeouts),
            logger: logger, loginCommand: config.loginCommand, logsRetries: false)
        return (tokens, worker)
    }

    /// Logs in once with the config's credentials over libcurl, for `covata-proxy token`.
    public static func loginOnce(config: ProxyConfig, logger: Logger) async -> (
        Result<AccessToken, TokenError>, TokenStatus
    ) {
        let (tokens, worker) = standalone(config: config, logger: logger)
        defer { worker.shutdown() }
        // Starts from (and keeps) the state file like the proxy does: a rotated refresh token must not be lost.
        await tokens.start()
        let result = await tokens.tokenResult()
        let status = await tokens.status()
        await tokens.stop()
        return (result, status)
    }

    /// Exchanges the code from a sign-in for tokens and stores them in the state file, for `covata-proxy login`.
    /// Succeeds only when Covata also issued a refresh token: without one the proxy could not run unattended.
    public func completeSignIn(code: String, request: AuthorizationRequest) async -> Result<AccessToken, LoginError> {
        switch await self.request(request.grant(code: code)) {
        case .success(let token):
            guard token.refreshToken != nil else {
                return .failure(
                    LoginError(
                        "Covata issued no refresh token: the client application needs the refresh_token grant type"))
            }
            handle(.signedIn(token))
            guard await persisted() else {
                return .failure(LoginError("the token state file could not be written; see the log above"))
            }
            return .success(token)
        case .failure(let failure):
            return .failure(LoginError("the code exchange failed: \(failure.reason)"))
        }
    }
}
