/// The final (non-1xx) response head as the upstream sent it, header fields in order.
public struct CurlResponseHead: Sendable {
    public var status: Int
    public var reason: String
    public var fields: HeaderFields

    public init(status: Int, reason: String, fields: HeaderFields) {
        self.status = status
        self.reason = reason
        self.fields = fields
    }

    /// The fields as text (see `HeaderFields.text`).
    public var headers: [(name: String, value: String)] { fields.text }
}
