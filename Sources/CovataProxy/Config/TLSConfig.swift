/// TLS settings for every upstream call (token endpoint and routes).
public struct TLSConfig: Sendable, Equatable {
    public var caFile: String?
    public var clientCertFile: String?
    public var clientKeyFile: String?
    public var insecureSkipVerify: Bool

    public static let systemDefault = TLSConfig(
        caFile: nil, clientCertFile: nil, clientKeyFile: nil, insecureSkipVerify: false)
}
