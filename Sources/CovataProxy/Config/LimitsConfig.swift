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

    public static let defaults = LimitsConfig(
        maxRequestBodyBytes: 64 << 20, replayBufferBytes: 1 << 20, maxHeaderBytes: 64 << 10, maxHeaderCount: 100)
}
