/// Why `covata-proxy login` could not finish; the message is for the operator and holds no secret.
public struct LoginError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
