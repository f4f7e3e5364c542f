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

/// Receives one transfer's events.
public protocol CurlTransferDelegate: AnyObject, Sendable {
    /// The events one pass of the worker produced for this transfer, in order (never empty). A small answer
    /// usually arrives whole, head to completion, in one call: one hop to the caller's thread instead of three.
    ///
    /// Runs on the curl worker thread: hop to your own executor before doing real work, and never block.
    func transfer(_ transfer: CurlTransfer, didProduce events: [CurlTransferEvent])
}
