import NIOCore
import Synchronization

extension CurlWorker {
    /// Runs a request and collects the whole answer; for small bodies only (at most `maxBodyBytes`).
    public func fetch(_ request: CurlRequest, maxBodyBytes: Int = 1 << 20) async throws(CurlError)
        -> CurlBufferedResponse
    {
        let result = await withCheckedContinuation { continuation in
            let collector = BufferingDelegate(maxBodyBytes: maxBodyBytes, continuation: continuation)
            _ = start(request, delegate: collector)
        }
        return try result.get()
    }
}

/// Collects a response in memory and resumes one continuation when the transfer ends.
private final class BufferingDelegate: CurlTransferDelegate, @unchecked Sendable {  // fields touched on the worker only
    private let maxBodyBytes: Int
    private var continuation: CheckedContinuation<Result<CurlBufferedResponse, CurlError>, Never>?
    private var head: CurlResponseHead?
    private var body: [UInt8] = []
    private var overflowed = false

    init(maxBodyBytes: Int, continuation: CheckedContinuation<Result<CurlBufferedResponse, CurlError>, Never>) {
        self.maxBodyBytes = maxBodyBytes
        self.continuation = continuation
    }

    func transfer(_ transfer: CurlTransfer, didProduce events: [CurlTransferEvent]) {
        for event in events {
            switch event {
            case .head(let head): self.head = head
            case .body(let buffer): collect(buffer, transfer: transfer)
            case .canAcceptMoreBody: break
            case .completed(let result): complete(result)
            }
        }
    }

    private func collect(_ buffer: ByteBuffer, transfer: CurlTransfer) {
        if body.count + buffer.readableBytes > maxBodyBytes {
            overflowed = true
            transfer.cancel()
        } else {
            body.append(contentsOf: buffer.readableBytesView)
        }
        transfer.didConsume(buffer.readableBytes)
    }

    private func complete(_ result: Result<Void, CurlError>) {
        let outcome: Result<CurlBufferedResponse, CurlError>
        switch result {
        case .success:
            if let head {
                outcome = .success(CurlBufferedResponse(head: head, body: body))
            } else {
                outcome = .failure(CurlError(kind: .connectionBroken, code: -1, message: "no response head"))
            }
        case .failure(let error):
            outcome =
                overflowed
                ? .failure(CurlError(kind: .other, code: -1, message: "response body too large")) : .failure(error)
        }
        continuation?.resume(returning: outcome)
        continuation = nil
    }
}

/// A whole response, for small calls such as token requests.
public struct CurlBufferedResponse: Sendable {
    public var head: CurlResponseHead
    public var body: [UInt8]
}
