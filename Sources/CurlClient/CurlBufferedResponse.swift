/// A whole response, for small calls such as token requests.
public struct CurlBufferedResponse: Sendable {
    public var head: CurlResponseHead
    public var body: [UInt8]
}
