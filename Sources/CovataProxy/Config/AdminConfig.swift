/// The admin listener (health and status), separate from every route listener.
public struct AdminConfig: Sendable, Equatable {
    public var listen: ListenAddress
}
