/// A configuration problem: which key, and what was expected. Never carries a secret's value.
public struct ConfigError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The key path, such as `oauth.clientSecret` or `routes[1].listen`; empty for the whole file.
    public var keyPath: String
    public var message: String

    public init(_ keyPath: String, _ message: String) {
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        keyPath.isEmpty ? "invalid configuration: \(message)" : "invalid configuration at \(keyPath): \(message)"
    }
}
