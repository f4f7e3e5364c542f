import CurlClient
import Foundation
import Testing

@testable import CovataProxy

/// `tls` settings reach libcurl: a private CA, verification on by default, mutual TLS, and the insecure switch.
@Suite(.serialized) struct TLSTests {
    /// A private CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl.
    struct PKI {
        let directory: URL
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("pki-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try run([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Test CA",
                "-keyout", path("ca.key"), "-out", path("ca.pem"),
            ])
            try issue("server", subject: "/CN=127.0.0.1", extensions: "subjectAltName=IP:127.0.0.1")
            try issue("client", subject: "/CN=covata-proxy", extensions: "extendedKeyUsage=clientAuth")
        }

        private func issue(_ name: String, subject: String, extensions: String) throws {
            try run([
                "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", path("\(name).key"),
                "-out", path("\(name).csr"),
            ])
            try extensions.write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
            try run([
                "x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                "-CAcreateserial", "-days", "2", "-extfile", path("\(name).ext"), "-out", path("\(name).pem"),
            ])
        }

        private func run(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["openssl"] + arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try Shell.launch(process)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
    }

    /// Runs the HTTPS token endpoint fixture; returns its port and the process to stop.
    static func startServer(_ pki: PKI, clientCA: Bool = false) throws -> (Int, Process) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tls_token_server.py").path
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", script, pki.path("server.pem"), pki.path("server.key")]
            + (clientCA ? [pki.path("ca.pem")] : [])
        process.standardOutput = output
        try Shell.launch(process)
        var line = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line += byte
        }
        return (Int(String(decoding: line, as: UTF8.self)) ?? 0, process)
    }

    static func stop(_ server: Process) {
        server.terminate()
        server.waitUntilExit()
    }

    static func login(port: Int, options: CurlClientOptions) async -> Result<AccessToken, TokenError> {
        let worker = CurlWorker(options: options)
        defer { worker.shutdown() }
        let tokens = TokenManager(
            config: TestConfigs.oauth(tokenURL: "https://127.0.0.1:\(port)/api/oauth/token"),
            transport: CurlTokenTransport(worker: worker, timeouts: .defaults), logger: CapturedLogs().logger())
        return await tokens.tokenResult()
    }

    @Test func privateCAIsTrustedOnlyWhenConfigured() async throws {
        let pki = try PKI()
        let (port, server) = try Self.startServer(pki)
        defer { Self.stop(server) }
        let trusted = await Self.login(port: port, options: CurlClientOptions(caFile: pki.path("ca.pem")))
        #expect(try trusted.get().jti == "tls-jti")
        // The system bundle does not know the private CA: verification must fail.
        guard case .failure = await Self.login(port: port, options: CurlClientOptions()) else {
            Issue.record("an unknown CA was trusted")
            return
        }
        let insecure = await Self.login(port: port, options: CurlClientOptions(insecureSkipVerify: true))
        #expect(try insecure.get().jti == "tls-jti")
    }

    @Test func clientCertificateIsPresentedForMutualTLS() async throws {
        let pki = try PKI()
        let (port, server) = try Self.startServer(pki, clientCA: true)
        defer { Self.stop(server) }
        guard case .failure = await Self.login(port: port, options: CurlClientOptions(caFile: pki.path("ca.pem")))
        else {
            Issue.record("server accepted a client without a certificate")
            return
        }
        let options = CurlClientOptions(
            caFile: pki.path("ca.pem"), clientCertFile: pki.path("client.pem"), clientKeyFile: pki.path("client.key"))
        #expect(try await Self.login(port: port, options: options).get().jti == "tls-jti")
    }
}
