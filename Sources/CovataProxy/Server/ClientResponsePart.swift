import NIOCore

/// An answer on its way to a route's client; `ResponseEncoder` writes it as HTTP/1.1 bytes.
enum ClientResponsePart {
    case head(ClientResponseHead)
    case body(ByteBuffer)
    case end
}
