/// Receives one transfer's events.
public protocol CurlTransferDelegate: AnyObject, Sendable {
    /// The events one pass of the worker produced for this transfer, in order (never empty). A small answer
    /// usually arrives whole, head to completion, in one call: one hop to the caller's thread instead of three.
    ///
    /// Runs on the curl worker thread: hop to your own executor before doing real work, and never block.
    func transfer(_ transfer: CurlTransfer, didProduce events: [CurlTransferEvent])
}
