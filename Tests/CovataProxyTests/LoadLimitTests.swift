import CovataMock
import Foundation
import NIOCore
import NIOPosix
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

    /// Issue #26, 5: at `limits.maxConnections` the listeners stop accepting; a client beyond the cap waits in the
    /// backlog, nothing crashes or spins, and it is answered as soon as a connection closes.
    @Test func connectionsBeyondTheCapWaitForOneToClose() async throws {
        try await ProxyHarness.with(configure: { $0.limits.maxConnections = 4 }) { harness in
            let port = harness.port()
            var idle: [any Channel] = []
            for _ in 0..<4 {
                idle.append(
                    try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                        .connect(host: "127.0.0.1", port: port).get())
                let count = idle.count
                #expect(await eventually { harness.proxy.openConnections == count })
            }
            let waiting = Task { try await RawHTTPClient.get(port: port, "/api/v1/beyond-the-cap").status }
            try await Task.sleep(for: .milliseconds(500))
            #expect(harness.proxy.openConnections == 4, "a fifth connection was accepted")
            try await idle.removeFirst().close()
            #expect(try await waiting.value == 200)
            for channel in idle { try await channel.close() }
            #expect(await eventually { harness.proxy.openConnections == 0 })
        }
    }

    /// Issue #26, 5: uploads dripping a few bytes a second never pause, but no longer hold the request slots: each
    /// is answered 408 after a window below the minimum rate, and a normal request gets through.
    @Test func drippedUploadsDoNotHoldTheRequestSlots() async throws {
        try await ProxyHarness.with(configure: {
            $0.limits.maxConcurrentRequests = 4
            $0.limits.minUploadBytesPerSecond = 100
            // Long enough for the four drips to hold their slots together on a loaded machine, short for a test.
            $0.timeouts.clientBodyIdleSeconds = 4
        }) { harness in
            let port = harness.port()
            #expect(try await RawHTTPClient.get(port: port, "/api/v1/warm").status == 200)
            let drips = (0..<4).map { _ in
                Task {
                    try await RawConnection.with(port: port) { connection in
                        try await connection.write(
                            "POST /api/v1/drip HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n")
                        for _ in 0..<50 {
                            do { try await connection.write("x") } catch { break }  // 5 bytes a second
                            try await Task.sleep(for: .milliseconds(200))
                            if !connection.received.isEmpty { break }
                        }
                        try await connection.read(untilSeen: "\r\n\r\n")
                        return connection.text
                    }
                }
            }
            // All four slots are held by drips: a normal request is refused for now.
            #expect(await eventually { harness.proxy.inFlightCount == 4 })
            #expect(try await RawHTTPClient.get(port: port, "/api/v1/normal").status == 503)
            #expect(
                await eventually(timeoutSeconds: 15) {
                    (try? await RawHTTPClient.get(port: port, "/api/v1/normal").status) == 200
                })
            for drip in drips {
                let answer = try await drip.value
                #expect(answer.hasPrefix("HTTP/1.1 408"))
            }
        }
    }

    /// Issue #29: clients that send a request (slow GETs, 1 MiB uploads) to a stalled upstream and hang up free
    /// their request slots at once, as with nginx's default: a storm right after gets no refusal.
    @Test func abandonedRequestsFreeTheirSlots() async throws {
        try await ProxyHarness.with(configure: { $0.limits.maxConcurrentRequests = 16 }) { harness in
            let port = harness.port()
            let upload = [UInt8](repeating: UInt8(ascii: "u"), count: 1 << 20)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<24 {
                    group.addTask {
                        try await RawConnection.with(port: port) { connection in
                            if index < 16 {
                                try await connection.write(
                                    "GET /api/v1/slow?delayMs=20000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                            } else {
                                try await connection.write(
                                    "POST /api/v1/slow?delayMs=20000 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        + "Content-Length: \(upload.count)\r\n\r\n")
                                try await connection.write(upload)
                            }
                        }  // and hangs up
                    }
                }
                try await group.waitForAll()
            }
            #expect(await eventually { harness.proxy.inFlightCount == 0 })
            let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        var seen: [Int] = []
                        for _ in 0..<25 { seen.append(try await RawHTTPClient.get(port: port, "/api/v1/storm").status) }
                        return seen
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(statuses.count == 200 && statuses.allSatisfy { $0 == 200 }, "\(Set(statuses))")
        }
    }

    /// Issue #26, 5: with a soft limit of 64 descriptors and a hundred idle clients, the proxy accepts only what the
    /// limit leaves room for (and says so at start), neither crashes nor spins, and answers again once they go.
    @Test func runningOutOfDescriptorsNeitherCrashesNorSpins() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try CommandLineTests.writeConfig(mockPort: mock.port)
        let proxy = try ProductBinary(executable: URL(fileURLWithPath: "/usr/bin/prlimit")).start(
            ["--nofile=64:64", ProductBinary("covata-proxy").url.path, "run", "--config", config.path],
            environment: CommandLineTests.secretEnvironment)
        defer { _ = proxy.stop() }
        #expect(await eventually { ProductBinary.listeningPort(in: proxy.printed) != nil })
        let port = try #require(ProductBinary.listeningPort(in: proxy.printed))
        #expect(proxy.printed.contains("the open-file limit leaves room for fewer client connections"))
        #expect(await eventually { (try? await RawHTTPClient.get(port: port, "/api/v1/warm").status) == 200 })
        var idle: [any Channel] = []
        for _ in 0..<100 {
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            {
                idle.append(channel)
            }
        }
        // Out of descriptors for a while: alive, and not burning a core on failed accepts.
        let before = Self.cpuTicks(proxy.pid)
        try await Task.sleep(for: .seconds(2))
        let spent = Self.cpuTicks(proxy.pid) - before
        #expect(spent < 100, "\(spent) ticks of CPU in 2 s while out of descriptors")
        for channel in idle { try? await channel.close() }
        #expect(
            await eventually(timeoutSeconds: 10) {
                (try? await RawHTTPClient.get(port: port, "/api/v1/after").status) == 200
            })
        #expect(kill(proxy.pid, 0) == 0, "the proxy is gone")
    }

    /// User and system CPU time of a process, in clock ticks (/proc/PID/stat fields 14 and 15).
    static func cpuTicks(_ pid: Int32) -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 13 ? (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0) : 0
    }
}
