import CovataMock
@testable import CovataProxy
import Foundation
import Testing

/// 256 MiB each way through a covata-proxy process, with a slow reader and a slow upstream: the bytes arrive
/// intact and the proxy's memory stays bounded, because backpressure holds back the fast side.
@Suite(.serialized) struct StreamingTests {
    static let size = 256 << 20
    /// The proxy's resident memory may not exceed this while 256 MiB pass through it.
    static let memoryBound = 96 << 20

    static func withProxyProcess(_ body: (Int, PeakMemory) async throws -> Void) async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try CommandLineTests.writeConfig(mockPort: mock.port)
        var text = try String(contentsOf: config, encoding: .utf8)
        text = text.replacingOccurrences(
            of: #""log": {"#, with: #""limits": { "maxRequestBodyBytes": 1073741824 }, "log": {"#
        )
        .replacingOccurrences(of: #""level": "trace""#, with: #""level": "info""#)
        try text.write(to: config, atomically: true, encoding: .utf8)
        try await ProductBinary.withProxy(config: config, environment: CommandLineTests.secretEnvironment) {
            proxy, port in
            let memory = PeakMemory(pid: proxy.pid)
            defer { memory.stop() }
            try await body(port, memory)
        }
    }

    @Test func bigDownloadToASlowReaderArrivesIntactInBoundedMemory() async throws {
        try await Self.withProxyProcess { port, memory in
            let expected = try await Shell.run(
                "python3 -c 'import hashlib;n=\(Self.size);print(hashlib.sha256((bytes(range(251))*(n//251+1))[:n]).hexdigest())'"
            )
            let received = try await Shell.run(
                "curl -sf -m 120 --limit-rate 120M 'http://127.0.0.1:\(port)/api/v1/download?size=\(Self.size)' | sha256sum | cut -d' ' -f1"
            )
            #expect(received == expected)
            #expect(memory.peakBytes > 0)
            #expect(memory.peakBytes < Self.memoryBound, "peak RSS \(memory.peakBytes >> 20) MiB")
        }
    }

    @Test func bigUploadToASlowUpstreamArrivesIntactInBoundedMemory() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("upload-\(UUID().uuidString)")
        try await Shell.run("head -c \(Self.size) /dev/urandom > '\(file.path)'")
        defer { try? FileManager.default.removeItem(at: file) }
        let expected = try await Shell.run("sha256sum '\(file.path)' | cut -d' ' -f1")
        try await Self.withProxyProcess { port, memory in
            let answer = try await Shell.run(
                "curl -sf -m 120 -T '\(file.path)' 'http://127.0.0.1:\(port)/api/v1/upload?readDelayMs=1'")
            let json = try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any]
            #expect(json?["bodyBytes"] as? Int == Self.size)
            #expect(json?["bodySHA256"] as? String == expected)
            #expect(memory.peakBytes < Self.memoryBound, "peak RSS \(memory.peakBytes >> 20) MiB")
        }
    }

    /// A burst's freed heap goes back to the system within seconds (`HeapScavenger`): glibc kept 20+ MiB of 64
    /// stalled uploads resident for good before, which counted against a pod's memory limit until the next peak.
    @Test func theHeapABurstFreedGoesBackToTheSystem() async throws {
        try await Self.withProxyProcess { port, memory in
            let pid = memory.pid
            let idle = try #require(PeakMemory.residentBytes(pid: pid))
            try await Shell.run(
                """
                python3 -c '
                import asyncio
                async def upload():
                    reader, writer = await asyncio.open_connection("127.0.0.1", \(port))
                    writer.write(b"POST /api/v1/held?delayMs=1500 HTTP/1.1\\r\\nHost: localhost\\r\\n"
                                 b"Content-Length: 1048576\\r\\nConnection: close\\r\\n\\r\\n" + b"u" * 1048576)
                    await writer.drain()
                    assert (await reader.read()).startswith(b"HTTP/1.1 200")
                    writer.close()
                async def burst():
                    await asyncio.gather(*(upload() for _ in range(64)))
                asyncio.run(burst())'
                """)
            let grown = memory.peakBytes - idle
            #expect(grown > 32 << 20, "the burst added only \(grown >> 20) MiB: it shows nothing")
            var resident = Int.max
            let returned = await eventually(timeoutSeconds: 6) {
                resident = PeakMemory.residentBytes(pid: pid) ?? .max
                return resident - idle < HeapScavenger.slack + (4 << 20)
            }
            #expect(returned, "idle \(idle >> 20) MiB, peak \(memory.peakBytes >> 20) MiB, now \(resident >> 20) MiB")
        }
    }
}
