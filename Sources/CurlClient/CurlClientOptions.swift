/// Settings that apply to every upstream call made through one `CurlWorker`.
public struct CurlClientOptions: Sendable {
    /// A PEM bundle of trusted CAs; nil uses the system bundle.
    public var caFile: String?
    /// A PEM client certificate and its key, for mutual TLS.
    public var clientCertFile: String?
    public var clientKeyFile: String?
    /// Turns off certificate and host-name verification. Only for tests against self-signed servers.
    public var insecureSkipVerify: Bool
    /// The corporate proxy for every call; nil means none, and libcurl's environment lookup stays off.
    public var egressProxy: String?
    /// Upper bound on connections per upstream host kept by the worker.
    public var maxConnectionsPerHost: Int
    /// Idle upstream connections kept for reuse. libcurl's own cache size follows the transfers running at the
    /// moment (4 per transfer), so a lull between bursts closed connections the next burst opened again: over HTTPS
    /// a TLS handshake for every 30 requests at 32 clients (`bench/run`'s HTTPS row).
    public var keptConnections: Int

    /// libcurl's NOPROXY list for loopback names and addresses (CIDR since libcurl 7.86).
    static let loopbackNoProxy = "localhost,127.0.0.0/8,::1"

    public init(
        caFile: String? = nil,
        clientCertFile: String? = nil,
        clientKeyFile: String? = nil,
        insecureSkipVerify: Bool = false,
        egressProxy: String? = nil,
        maxConnectionsPerHost: Int = 0,
        keptConnections: Int = 256
    ) {
        self.caFile = caFile
        self.clientCertFile = clientCertFile
        self.clientKeyFile = clientKeyFile
        self.insecureSkipVerify = insecureSkipVerify
        self.egressProxy = egressProxy
        self.maxConnectionsPerHost = maxConnectionsPerHost
        self.keptConnections = keptConnections
    }
}
