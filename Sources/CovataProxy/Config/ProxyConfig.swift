/// The whole validated proxy.json. Building one succeeds only if every key is valid, so a half-working
/// proxy never starts.
public struct ProxyConfig: Sendable, Equatable {
    public var routes: [RouteConfig]
    public var oauth: OAuthConfig
    public var admin: AdminConfig?
    public var tls: TLSConfig
    public var egressProxy: String?
    public var log: LogConfig
    public var timeouts: TimeoutsConfig
    public var limits: LimitsConfig
    /// Reload by itself when the config file or a secret file changes (`reload.watchFiles`), as on SIGHUP.
    public var watchFiles = true
    /// Every secret read from a file, with its key: checked for who else can read it, and watched for rotation.
    public var secretFiles: [SecretFileSource] = []
    /// The file this was loaded from, to name it in advice such as "run covata-proxy login --config …".
    public var sourcePath: String?

    /// The files a running proxy watches for changes: the config itself and every secret file it read.
    public var watchedFiles: [String] {
        guard watchFiles else { return [] }
        return (sourcePath.map { [$0] } ?? []) + secretFiles.map(\.path)
    }

    /// The command an operator runs to sign in again.
    public var loginCommand: String {
        "covata-proxy login --config \(sourcePath ?? "proxy.json")"
    }
}
