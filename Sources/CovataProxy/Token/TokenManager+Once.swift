import CurlClient
import Logging

extension TokenManager {
    /// A token manager on its own curl worker, for the one-shot commands (`token`, `login`). Shut the worker down
    /// when done.
    public static func standalone(config: ProxyConfig, logger: Logger) -> (TokenManager, CurlWorker) {
        let worker = CurlWorker(options: config.curlOptions)
        let tokens = TokenManager(
            config: config.oauth, transport: CurlTokenTransport(worker: worker, timeouts: config.timeouts),
            logger: logger, loginCommand: config.loginCommand)
        return (tokens, worker)
    }

    /// Logs in once with the config's credentials over libcurl, for `covata-proxy token`.
    public static func loginOnce(config: ProxyConfig, logger: Logger) async -> (
        Result<AccessToken, TokenError>, TokenStatus
    ) {
        let (tokens, worker) = standalone(config: config, logger: logger)
        defer { worker.shutdown() }
        // Starts from (and keeps) the state file like the proxy does: a rotated refresh token must not be lost.
        await tokens.restoreSavedState()
        let result = await tokens.tokenResult()
        return (result, await tokens.status())
    }
}
