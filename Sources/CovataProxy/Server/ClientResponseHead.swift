/// A status line and header fields, and how the body after them is framed for this client.
struct ClientResponseHead {
    /// Three digits: the curl head parser and our own answers guarantee it.
    var status: Int
    var reason: String
    /// The fields in order, with Content-Length if the body has a known length; the encoder adds the chunked
    /// Transfer-Encoding itself when `framing` asks for it.
    var headers: [(name: String, value: String)]
    var framing: ResponseBodyFraming

    init(status: Int, reason: String, headers: [(name: String, value: String)] = [], framing: ResponseBodyFraming) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.framing = framing
    }
}
