import CovataMock
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
}
