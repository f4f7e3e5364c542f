/// A route's caller checks: everything optional except the unix socket's mode.
public struct RouteAccess: Sendable, Equatable {
    /// A header every request must carry with this exact value (removed before forwarding).
    public var requiredHeader: RequiredHeader?
    /// Upper-case methods allowed; nil allows all (TRACE and CONNECT are refused regardless).
    public var methods: Set<String>?
    /// Path prefixes allowed (matched on whole segments); nil allows all.
    public var pathPrefixes: [String]?
    /// File mode of a unix socket listener: who on this machine may connect.
    public var socketMode: Int = 0o600

    public init() {}
}

/// `routes[].requireHeader`: a shared secret that proves the caller is one of ours.
public struct RequiredHeader: Sendable, Equatable {
    /// Lower-cased header name.
    public var name: String
    public var value: Secret
}
