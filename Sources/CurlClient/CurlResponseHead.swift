/// The final (non-1xx) response head as the upstream sent it, header lines in order.
public struct CurlResponseHead: Sendable {
    public var status: Int
    public var reason: String
    public var headers: [(name: String, value: String)]

    public init(status: Int, reason: String, headers: [(name: String, value: String)]) {
        self.status = status
        self.reason = reason
        self.headers = headers
    }
}
