/// How a request body reaches curl.
public enum CurlRequestBody: Sendable {
    /// No body at all (curl sends no framing headers).
    case none
    /// A body known in full up front.
    case bytes([UInt8])
    /// A body the caller feeds with `CurlTransfer.send(_:)` and ends with `finishSending()`;
    /// `length` nil means chunked.
    case stream(length: Int64?)
}
