import CovataMock
import Foundation
import Testing

@testable import CovataProxy

/// The running proxy reloads by itself when its config or a secret file changes, as it does on SIGHUP, including
/// when Kubernetes swaps a mounted Secret's `..data` symlink; a broken edit is kept out.
@Suite(.serialized) struct SelfReloadTests {
    /// A Kubernetes-style secret folder: `<key> -> ..data/<key>`, `..data -> ..<version>`, swapped atomically.
    struct MountedSecret {
        let folder: URL
        var version = 0

        init(folder: URL, files: [String: String]) throws {
            self.folder = folder
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try publish(files)
            for key in files.keys {
                try FileManager.default.createSymbolicLink(
                    atPath: folder.appendingPathComponent(key).path, withDestinationPath: "..data/\(key)")
            }
        }

        /// Writes a new version folder and points `..data` at it with one rename, as the kubelet does.
        mutating func publish(_ files: [String: String]) throws {
            version += 1
            let name = "..2026_12_01_00_00_0\(version)"
            let versionFolder = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: versionFolder, withIntermediateDirectories: true)
            for (key, value) in files {
                let file = versionFolder.appendingPathComponent(key)
                try value.write(to: file, atomically: true, encoding: .utf8)
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
            }
            let temporary = folder.appendingPathComponent("..data_tmp").path
            try FileManager.default.createSymbolicLink(atPath: temporary, withDestinationPath: name)
            guard rename(temporary, folder.appendingPathComponent("..data").path) == 0 else {
                throw CocoaError(.fileWriteUnknown)
            }
        }
    }

    @Test func aRotatedSecretBySymlinkSwapIsPickedUpWithoutSIGHUP() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try CommandLineTests.writeConfig(
            mockPort: mock.port,
            signIn: #""username": "svc-legacy@example.com", "password": { "file": "secrets/password" }"#)
        var secret = try MountedSecret(
            folder: config.deletingLastPathComponent().appendingPathComponent("secrets"), files: ["password": "wrong"])
        try await ProductBinary.withProxy(config: config, environment: CommandLineTests.secretEnvironment) {
            (proxy: ProductBinary.Running, port: Int) async throws in
            #expect(await eventually { proxy.printed.contains("credentials rejected") })
            try secret.publish(["password": MockSettings().password])
            #expect(await eventually(timeoutSeconds: 10) { proxy.printed.contains("watched file changed; reloading") })
            // Changed credentials are tried at once.
            #expect(await eventually { (try? await RawHTTPClient.get(port: port, "/api/v1/x").status) == 200 })
            #expect(mock.state.tokenRequests(grant: "password") == 2)
            #expect(!proxy.printed.contains(MockSettings().password))
        }
    }

    @Test func aConfigEditIsAppliedAndABrokenOneKeptOut() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try CommandLineTests.writeConfig(mockPort: mock.port)
        let original = try String(contentsOf: config, encoding: .utf8)
        try await ProductBinary.withProxy(config: config, environment: CommandLineTests.secretEnvironment) {
            (proxy: ProductBinary.Running, port: Int) async throws in
            #expect(try await RawHTTPClient.get(port: port, "/api/v1/logged").status == 200)
            #expect(await eventually { proxy.printed.contains("/api/v1/logged") })
            // The access log switched off by an edit, no signal sent.
            try original.replacingOccurrences(
                of: #""format": "json" }"#, with: #""format": "json", "accessLog": false }"#
            )
            .write(to: config, atomically: true, encoding: .utf8)
            #expect(await eventually(timeoutSeconds: 10) { proxy.printed.contains("configuration reloaded") })
            #expect(try await RawHTTPClient.get(port: port, "/api/v1/quiet").status == 200)
            // A broken edit is refused; the proxy keeps what it runs.
            try "{ \"routes\": [".write(to: config, atomically: true, encoding: .utf8)
            #expect(await eventually(timeoutSeconds: 10) { proxy.printed.contains("reload refused") })
            #expect(try await RawHTTPClient.get(port: port, "/api/v1/still-up").status == 200)
            #expect(!proxy.printed.contains("/api/v1/quiet"))
            #expect(!proxy.printed.contains("/api/v1/still-up"))
        }
    }

    @Test func watchingCanBeTurnedOff() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try CommandLineTests.writeConfig(mockPort: mock.port)
        var text = try String(contentsOf: config, encoding: .utf8)
        let end = try #require(text.range(of: "}", options: .backwards))
        text.replaceSubrange(end, with: #", "reload": { "watchFiles": false } }"#)
        try text.write(to: config, atomically: true, encoding: .utf8)
        try await ProductBinary.withProxy(config: config, environment: CommandLineTests.secretEnvironment) {
            (proxy: ProductBinary.Running, port: Int) async throws in
            #expect(try await RawHTTPClient.get(port: port, "/api/v1/x").status == 200)
            try "{ broken".write(to: config, atomically: true, encoding: .utf8)
            try await Task.sleep(for: .seconds(2.5))
            #expect(!proxy.printed.contains("reload"))
        }
    }

    /// The watcher itself: a change to what a path resolves to counts, a look with nothing new does not.
    @Test func watcherSeesSymlinkSwapsAndRewrites() throws {
        var secret = try MountedSecret(
            folder: FileManager.default.temporaryDirectory.appendingPathComponent("fw-\(UUID().uuidString)"),
            files: ["token": "one"])
        defer { try? FileManager.default.removeItem(at: secret.folder) }
        let path = secret.folder.appendingPathComponent("token").path
        let watcher = FileChangeWatcher()
        watcher.watch([path])
        #expect(watcher.look().isEmpty)
        try secret.publish(["token": "two"])
        #expect(watcher.look() == [path])
        #expect(watcher.look().isEmpty)
    }
}
