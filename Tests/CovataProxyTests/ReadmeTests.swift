import Foundation
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// The README's first screen works as written: its proxy.json is valid, and the commands it names exist.
@Suite struct ReadmeTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")

    @Test func quickStartConfigIsValidAndItsCommandsExist() async throws {
        let text = try String(contentsOf: Self.readme, encoding: .utf8)
        let quickStart = try #require(text.components(separatedBy: "## Commands").first)
        let start = try #require(quickStart.range(of: "```json\n"))
        let end = try #require(quickStart.range(of: "```", range: start.upperBound..<quickStart.endIndex))
        let json = quickStart[start.upperBound..<end.lowerBound].split(separator: "\n")
            .map { $0.drop { $0 == " " } }.joined(separator: "\n")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("readme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "p\n".write(to: folder.appendingPathComponent("password.txt"), atomically: true, encoding: .utf8)
        let config = try ProxyConfig.parse(
            Data(json.utf8), environment: ["COVATA_CLIENT_SECRET": "s"], baseDirectory: folder.path)
        #expect(config.routes.first?.listen == .tcp(host: "127.0.0.1", port: 8080))
        for command in ["token", "run"] {
            #expect(quickStart.contains("covata-proxy \(command) --config proxy.json"))
            let (status, _) = try await ProductBinary("covata-proxy").run([command, "--help"])
            #expect(status == 0)
        }
        #expect(quickStart.contains("make deb") && quickStart.contains("make run") && quickStart.contains("make test"))
        #expect(quickStart.split(separator: "\n").count < 60)
    }
}
