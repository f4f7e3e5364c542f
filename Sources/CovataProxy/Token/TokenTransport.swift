/// Sends one form POST to the token endpoint. The real one uses libcurl; tests use fakes.
public protocol TokenTransport: Sendable {
    func post(url: String, headers: [(name: String, value: String)], body: [UInt8]) async throws(TokenTransportError)
        -> TokenHTTPResponse
}

/// What came back from the token endpoint, before interpretation.
public struct TokenHTTPResponse: Sendable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}

/// The token endpoint could not be reached or did not answer in time.
public struct TokenTransportError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}
