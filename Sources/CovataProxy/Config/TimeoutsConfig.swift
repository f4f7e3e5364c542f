/// Time limits, in seconds.
public struct TimeoutsConfig: Sendable, Equatable {
    /// Connecting to an upstream or the token endpoint (DNS, TCP, TLS).
    public var connectSeconds: Double
    /// One whole token request.
    public var tokenRequestSeconds: Double
    /// How long a stopping proxy lets in-flight requests finish.
    public var drainSeconds: Double

    public static let defaults = TimeoutsConfig(connectSeconds: 10, tokenRequestSeconds: 15, drainSeconds: 15)
}
