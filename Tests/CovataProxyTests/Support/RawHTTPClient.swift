import NIOCore
import NIOPosix

/// Sends raw bytes to a listener and returns every byte it answers until it closes the connection.
/// Independent of the code under test, so it sees exactly what a legacy tool would.
enum RawHTTPClient {
    static func exchange(port: Int, _ request: String) async throws -> [UInt8] {
        try await exchange(port: port, Array(request.utf8))
    }

    static func exchange(port: Int, _ request: [UInt8]) async throws -> [UInt8] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: request))
            var received: [UInt8] = []
            for try await chunk in inbound { received += chunk.readableBytesView }
            return received
        }
    }

    /// A GET with `Connection: close`, parsed.
    static func get(port: Int, _ target: String, headers: [String] = []) async throws -> ParsedResponse {
        let lines = ["GET \(target) HTTP/1.1", "Host: 127.0.0.1:\(port)"] + headers + ["Connection: close", "", ""]
        return try ParsedResponse(try await exchange(port: port, lines.joined(separator: "\r\n")))
    }
}
