import CurlClient
import Logging

extension TokenManager {
    /// Logs in once with the config's credentials over libcurl, for `covata-proxy token`.
    public static func loginOnce(config: ProxyConfig, logger: Logger) async -> (
        Result<AccessToken, TokenError>, TokenStatus
    ) {
        let worker = CurlWorker(options: config.curlOptions)
        defer { worker.shutdown() }
        let tokens = TokenManager(
            config: config.oauth, transport: CurlTokenTransport(worker: worker, timeouts: config.timeouts),
            logger: logger)
        let result = await tokens.tokenResult()
        return (result, await tokens.status())
    }
}
