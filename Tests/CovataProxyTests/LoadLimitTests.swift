import CovataMock
import Foundation
import Testing

@testable import CovataProxy

/// Memory is bounded by configuration, not by how many requests arrive: a cap on requests in flight, and one
/// replay budget shared by every connection.
@Suite struct LoadLimitTests {
    static func upload(port: Int, bytes: Int) -> String {
        [
            "POST /api/v1/upload HTTP/1.1", "Host: 127.0.0.1:\(port)", "Content-Length: \(bytes)", "Connection: close",
            "", "",
        ]
        .joined(separator: "\r\n") + String(repeating: "u", count: bytes)
    }

    @Test func requestsBeyondTheCapAreRefusedWithRetryAfter() async throws {
        try await ProxyHarness.with(configure: { $0.limits.maxConcurrentRequests = 2 }) { harness in
            let port = harness.port()
            let slow = (0..<2).map { _ in
                Task { try await RawHTTPClient.get(port: port, "/api/v1/slow?delayMs=4000").status }
            }
            #expect(await eventually { harness.proxy.inFlightCount == 2 })
            let refused = try await RawHTTPClient.get(port: port, "/api/v1/third")
            #expect(refused.status == 503)
            #expect(refused.header("Retry-After") == "1")
            #expect(String(decoding: refused.body, as: UTF8.self).contains(#""error":"overloaded""#))
            for task in slow { #expect(try await task.value == 200) }
            #expect(try await RawHTTPClient.get(port: port, "/api/v1/after").status == 200)
            #expect(await eventually { harness.proxy.inFlightCount == 0 })
        }
    }

    /// While one upload holds most of the budget, another's body is not kept, so its 401 cannot be replayed; once
    /// the budget is free again, the same upload is replayed. Every kept byte goes back to the budget.
    @Test func replayCopiesShareOneBudget() async throws {
        try await ProxyHarness.with(configure: {
            $0.limits.replayBudgetBytes = 100_000
        }) { harness in
            let port = harness.port()
            #expect(try await RawHTTPClient.get(port: port, "/api/v1/warm").status == 200)
            try await RawConnection.with(port: port) { held in
                let head = ["POST /api/v1/held HTTP/1.1", "Host: 127.0.0.1:\(port)", "Content-Length: 200000", "", ""]
                try await held.write(head.joined(separator: "\r\n") + String(repeating: "h", count: 90_000))
                #expect(await eventually { harness.proxy.replayBytesInUse == 90_000 })

                harness.mock.state.revokeAll(includingRefreshTokens: false)
                let squeezed = try ParsedResponse(
                    try await RawHTTPClient.exchange(port: port, Self.upload(port: port, bytes: 50_000)))
                #expect(squeezed.status == 401)
                #expect(harness.proxy.replayBytesInUse == 90_000)
            }
            #expect(await eventually { harness.proxy.replayBytesInUse == 0 })

            harness.mock.state.revokeAll(includingRefreshTokens: false)
            let replayed = try ParsedResponse(
                try await RawHTTPClient.exchange(port: port, Self.upload(port: port, bytes: 50_000)))
            #expect(replayed.status == 200)
            #expect(await eventually { harness.proxy.replayBytesInUse == 0 })
        }
    }
}
