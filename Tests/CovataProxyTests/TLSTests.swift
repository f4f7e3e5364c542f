import CurlClient
import Foundation
import TestSupport
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
            guard try Shell.runProgram("openssl", arguments).status == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
    }

    /// Runs the HTTPS token endpoint fixture; returns its port and the process to stop.
    static func startServer(_ pki: PKI, clientCA: Bool = false) throws -> (Int, ChildProcess) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tls_token_server.py").path
        let output = Shell.temporaryFile("tls-server")
        let server = try ChildProcess(
            executable: "python3",
            arguments: [script, pki.path("server.pem"), pki.path("server.key")]
                + (clientCA ? [pki.path("ca.pem")] : []),
            environment: ProcessInfo.processInfo.environment, outputPath: output, errorPath: "/dev/null")
        // The fixture prints its port as its first line.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, server.isRunning {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first, text.contains("\n"), let port = Int(line) {
                return (port, server)
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return (0, server)
    }

    static func stop(_ server: ChildProcess) {
        server.signal(SIGTERM)
        _ = server.wait()
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
