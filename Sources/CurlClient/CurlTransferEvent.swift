import NIOCore

/// Something a transfer reports to its delegate.
public enum CurlTransferEvent: Sendable {
    /// The final response head (1xx heads are not reported).
    case head(CurlResponseHead)
    /// A piece of the response body. Call `transfer.didConsume(_:)` with its size once it is written onward:
    /// that is what lets curl keep receiving (backpressure).
    case body(ByteBuffer)
    /// The upload queue fell below its low-water mark after `send` reported it full.
    case canAcceptMoreBody
    /// The transfer ended; always the last event, reported exactly once.
    case completed(Result<Void, CurlError>)
}
