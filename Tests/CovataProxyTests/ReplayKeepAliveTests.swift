import CovataMock
import Foundation
import Testing

@testable import CovataProxy

/// A replayed request leaves its connection usable: the client's next request on it is answered (issue #25, 7).
@Suite struct ReplayKeepAliveTests {
    /// Answers small enough to be written whole and answers that stream over several curl batches take different
    /// paths through the handler; both must end their exchange cleanly after a replay.
    @Test(arguments: [100, 200_000])
    func theNextRequestAfterAReplayIsAnswered(size: Int) async throws {
        try await ProxyHarness.with { harness in
            try await RawConnection.with(port: harness.port()) { connection in
                let request = "GET /api/v1/download?size=\(size) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                try await connection.write(request)
                try await connection.read(untilSeen: "\r\n\r\n")
                try await connection.read { $0.count >= Self.headLength($0) + size }
                // The token dies: the next download is answered 401 upstream, replayed, and relayed as a 200.
                harness.mock.state.revokeAll()
                let before = connection.received.count
                try await connection.write(request)
                try await connection.read { bytes in
                    let answer = Array(bytes[before...])
                    return answer.count >= Self.headLength(answer) + size
                }
                let replayed = try ParsedResponse(Array(connection.received[before...]))
                #expect(replayed.status == 200)
                #expect(replayed.header("Connection") == nil)
                #expect(harness.logs.text.contains("replaying once"))
                // The connection was not closed behind the answer: a third request on it is answered.
                let third = connection.received.count
                try await connection.write("GET /api/v1/after HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                try await connection.read { Array($0[third...]).firstRange(of: Array("\r\n\r\n".utf8)) != nil }
                #expect(!connection.closedByPeer, "the connection was closed after the replayed answer")
                #expect(try ParsedResponse(Array(connection.received[third...])).status == 200)
            }
        }
    }

    /// Bytes of the head, separator included; the whole length when no head has ended yet.
    static func headLength(_ bytes: [UInt8]) -> Int {
        guard let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { return Int.max / 2 }
        return end.upperBound
    }
}
