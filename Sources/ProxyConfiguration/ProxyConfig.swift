import Logging

// The config tree's value types, as parsed from proxy.json (parsing: ProxyConfig+Loading.swift).

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
    /// Literal secrets that look like a file path or an environment reference, each naming its key and the form
    /// probably meant: warned about at start and by `check-config` (the value is never shown).
    public var secretHints: [String] = []
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

/// The admin listener (health and status), separate from every route listener.
public struct AdminConfig: Sendable, Equatable {
    public var listen: ListenAddress
}

/// Log level and line format.
public struct LogConfig: Sendable, Equatable {
    public enum Format: String, Sendable, Equatable {
        case json
        case text
    }

    public var level: Logger.Level
    /// nil means JSON lines when stderr is not a terminal, readable text when it is.
    public var format: Format?
    /// One info line per request (route, method, path without query values, status, bytes, duration, replayed).
    public var accessLog: Bool = true

    /// The names `log.level` and `--log-level` take, swift-log's.
    public static let levelNames = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
}

/// TLS settings for every upstream call (token endpoint and routes).
public struct TLSConfig: Sendable, Equatable {
    public var caFile: String?
    public var clientCertFile: String?
    public var clientKeyFile: String?
    public var insecureSkipVerify: Bool

    public static let systemDefault = TLSConfig(
        caFile: nil, clientCertFile: nil, clientKeyFile: nil, insecureSkipVerify: false)
}

/// Time limits, in seconds.
public struct TimeoutsConfig: Sendable, Equatable {
    /// Connecting to an upstream or the token endpoint (DNS, TCP, TLS).
    public var connectSeconds: Double
    /// One whole token request.
    public var tokenRequestSeconds: Double
    /// From the end of a request to the upstream's response head; then 504.
    public var firstByteSeconds: Double
    /// A client's whole request head must arrive within this (slow-header attacks); then 408.
    public var clientHeaderSeconds: Double
    /// Longest pause between two pieces of a request body; then 408.
    public var clientBodyIdleSeconds: Double
    /// An idle keep-alive connection is closed after this.
    public var clientIdleSeconds: Double
    /// How long a stopping proxy lets in-flight requests finish.
    public var drainSeconds: Double
    /// A new connection that has not started a request within this is closed (one that sends nothing holds a
    /// connection slot and a descriptor).
    public var clientFirstRequestSeconds: Double = 10

    public static let defaults = TimeoutsConfig(
        connectSeconds: 10, tokenRequestSeconds: 15, firstByteSeconds: 60, clientHeaderSeconds: 30,
        clientBodyIdleSeconds: 60, clientIdleSeconds: 75, drainSeconds: 15)
}

/// Size limits on what clients send, in bytes or counts.
public struct LimitsConfig: Sendable, Equatable {
    /// Largest request body accepted; more is answered 413. Covata uploads in chunks of at most 10 MiB.
    public var maxRequestBodyBytes: Int64
    /// Request bodies up to this size are kept so the request can be replayed once after the upstream
    /// rejects the token (401 invalid_token).
    public var replayBufferBytes: Int
    /// Largest request head (request line and all header lines).
    public var maxHeaderBytes: Int
    /// Most header lines in one request.
    public var maxHeaderCount: Int
    /// Request-body bytes kept for replays across all connections; a request that would exceed it streams without
    /// a replay copy (and is then not replayable).
    public var replayBudgetBytes: Int = 16 << 20
    /// Requests in flight at once, all routes together; more are answered 503 with `Retry-After: 1`.
    public var maxConcurrentRequests: Int = 1024
    /// Client connections open at once, all listeners together (the admin listener's too); at the cap the listeners
    /// stop accepting until one closes, and new connections wait in the kernel's backlog.
    public var maxConnections: Int = 1000
    /// A request body slower than this on average over each `clientBodyIdleSeconds` is refused with 408 (a drip
    /// of a byte a second would otherwise hold a request slot for as long as the client likes); 0 turns it off.
    public var minUploadBytesPerSecond: Int = 1024
    /// A client that shuts down its sending side (TCP FIN) while a request of its is in progress or waits: false
    /// (default, nginx's `proxy_ignore_client_abort off`): it has gone; the transfer is cancelled, its request slot
    /// and buffers freed, the connection closed. true: it half-closed on purpose (`nc -N`, `shutdown(SHUT_WR)`) and
    /// gets every answer it asked for before the connection closes.
    public var answerHalfClosedClients = false

    public static let defaults = LimitsConfig(
        maxRequestBodyBytes: 64 << 20, replayBufferBytes: 1 << 20, maxHeaderBytes: 64 << 10, maxHeaderCount: 100)
}
