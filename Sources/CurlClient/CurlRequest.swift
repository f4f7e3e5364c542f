/// One upstream HTTP request as libcurl should send it.
///
/// `url` is used as given: the caller builds it, curl sends its path byte-exact (`CURLOPT_PATH_AS_IS`); `urlSuffix`
/// is appended to it as it is (a proxy's fixed upstream base and a client's target: joined on curl's thread, where
/// the URL is copied into a C string anyway, instead of into a new `String` on the caller's).
/// `headers` must not carry framing (`Content-Length`, `Transfer-Encoding`) or `Host`: curl writes those itself.
public struct CurlRequest: Sendable {
    public var method: String
    public var url: String
    public var urlSuffix: String
    public var headers: [(name: String, value: String)]
    public var body: CurlRequestBody
    /// Gives up on connecting after this long (DNS, TCP and TLS).
    public var connectTimeoutMilliseconds: Int
    /// Gives up on the whole transfer after this long; 0 means no overall limit (streams can be long).
    public var totalTimeoutMilliseconds: Int

    public init(
        method: String,
        url: String,
        urlSuffix: String = "",
        headers: [(name: String, value: String)] = [],
        body: CurlRequestBody = .none,
        connectTimeoutMilliseconds: Int = 10_000,
        totalTimeoutMilliseconds: Int = 0
    ) {
        self.method = method
        self.url = url
        self.urlSuffix = urlSuffix
        self.headers = headers
        self.body = body
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.totalTimeoutMilliseconds = totalTimeoutMilliseconds
    }
}

/// How a request body reaches curl.
public enum CurlRequestBody: Sendable, Equatable {
    /// No body at all (curl sends no framing headers).
    case none
    /// A body known in full up front.
    case bytes([UInt8])
    /// A body the caller feeds with `CurlTransfer.send(_:)` and ends with `finishSending()`;
    /// `length` nil means chunked.
    case stream(length: Int64?)
}
