import NIOCore

/// An answer on its way to a route's client; `ResponseEncoder` writes it as HTTP/1.1 bytes.
enum ClientResponsePart {
    /// Indirect, so the part fits a pipeline message's inline storage: otherwise every body part and end marker
    /// would be boxed on the heap as it passes between handlers.
    indirect case head(ClientResponseHead)
    case body(ByteBuffer)
    case end
}
