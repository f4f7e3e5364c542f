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

    public static let defaults = TimeoutsConfig(
        connectSeconds: 10, tokenRequestSeconds: 15, firstByteSeconds: 60, clientHeaderSeconds: 30,
        clientBodyIdleSeconds: 60, clientIdleSeconds: 75, drainSeconds: 15)
}
