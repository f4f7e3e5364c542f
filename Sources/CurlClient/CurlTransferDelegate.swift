import NIOCore

/// Receives one transfer's events. Every method runs on the curl worker thread: hop to your own
/// executor before doing real work, and never block.
public protocol CurlTransferDelegate: AnyObject, Sendable {
    /// The final response head (1xx heads are not reported).
    func transfer(_ transfer: CurlTransfer, didReceiveHead head: CurlResponseHead)
    /// A piece of the response body. Call `transfer.didConsume(_:)` with its size once it is written onward:
    /// that is what lets curl keep receiving (backpressure).
    func transfer(_ transfer: CurlTransfer, didReceiveBody body: ByteBuffer)
    /// The upload queue fell below its low-water mark after `send` reported it full.
    func transferCanAcceptMoreBody(_ transfer: CurlTransfer)
    /// The transfer ended; called exactly once.
    func transfer(_ transfer: CurlTransfer, didCompleteWith result: Result<Void, CurlError>)
}

extension CurlTransferDelegate {
    public func transferCanAcceptMoreBody(_ transfer: CurlTransfer) {}
}
