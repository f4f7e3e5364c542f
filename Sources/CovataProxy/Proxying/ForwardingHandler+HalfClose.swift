import NIOCore

/// Clients that shut down their sending side once their requests are out (`printf … | nc -N`, scripts that call
/// `shutdown(SHUT_WR)`, some old HTTP/1.0 libraries) still get every answer; the connection closes after the last
/// one. Without this NIO closed the connection at the client's FIN, and such a client got nothing.
///
/// The price: a client that closes completely while its request waits for the upstream looks the same until the
/// answer's first write fails, so that transfer is cancelled only then (HAProxy's default too). A transfer that is
/// already streaming its answer is cancelled as soon as before.
extension ForwardingHandler {
    /// The client's FIN arrived. NIO's parser has already turned anything incomplete before it into an error.
    func clientFinishedSending() {
        inputClosed = true
        guard exchange == nil, pipelined.isEmpty, let context else { return }
        // Nothing in progress: close once the last answer is out.
        let channel = context.channel
        if let lastAnswerEnd {
            lastAnswerEnd.whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }

    /// An answer's end was written with `done`: the connection closes once it is out if this answer ends it, or if
    /// the client has finished sending and no request waits behind this one.
    func answerEnded(_ done: EventLoopFuture<Void>, closesConnection: Bool) {
        lastAnswerEnd = done
        guard closesConnection || (inputClosed && pipelined.isEmpty), let context else { return }
        let channel = context.channel
        done.whenComplete { _ in channel.close(promise: nil) }
    }
}
