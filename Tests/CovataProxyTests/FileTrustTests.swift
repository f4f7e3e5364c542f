import CovataMock
import Foundation
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// Issue #26, 2 and 6: a config file, secret file, state file or socket folder that another user could change is
/// refused, naming the file, the mode or owner found and what is expected; the layouts Kubernetes and systemd give
/// are accepted.
@Suite(.serialized) struct FileTrustTests {
    static let nobody = 65534

    /// A config whose password is a file, in a fresh folder; returns the config's path.
    static func layout() throws -> URL {
        let config = try CommandLineTests.writeConfig(mockPort: 9)
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o600],
            ofItemAtPath: config.deletingLastPathComponent().appendingPathComponent("password").path)
        return config
    }

    static func load(_ config: URL) -> ConfigError? {
        do {
            _ = try ProxyConfig.load(path: config.path, environment: CommandLineTests.secretEnvironment)
            return nil
        } catch {
            return error
        }
    }

    static func chmod(_ path: URL, _ mode: Int) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path.path)
    }

    static func chown(_ path: URL, _ user: Int) throws {
        try FileManager.default.setAttributes([.ownerAccountID: user], ofItemAtPath: path.path)
    }

    @Test func aConfigFileOthersCanWriteIsRefused() throws {
        let config = try Self.layout()
        #expect(Self.load(config) == nil)
        try Self.chmod(config, 0o666)
        let error = try #require(Self.load(config))
        #expect(error.description.contains(config.path))
        #expect(error.description.contains("mode 666"))
        #expect(error.description.contains("chmod go-w"))
        try Self.chmod(config, 0o644)
        #expect(Self.load(config) == nil)
    }

    @Test func aSecretFileOrItsFolderOthersCanWriteIsRefusedNamingTheKey() throws {
        let config = try Self.layout()
        let folder = config.deletingLastPathComponent()
        try Self.chmod(folder.appendingPathComponent("password"), 0o620)
        #expect(Self.load(config)?.keyPath == "oauth.password")
        try Self.chmod(folder.appendingPathComponent("password"), 0o600)
        try Self.chmod(folder, 0o777)
        let error = try #require(Self.load(config))
        #expect(error.description.contains("folder \(folder.path) has mode 777"))
        // The sticky bit stops others from replacing entries that are not theirs: /tmp, Kubernetes' volumes.
        try Self.chmod(folder, 0o1777)
        #expect(Self.load(config) == nil)
    }

    @Test func filesAndFoldersOwnedByAnotherUserAreRefused() throws {
        guard StateFileConfig.effectiveUserID() == 0 else { return }  // Only root can give files away.
        let config = try Self.layout()
        let folder = config.deletingLastPathComponent()
        try Self.chown(config, Self.nobody)
        #expect(Self.load(config)?.description.contains("is owned by user \(Self.nobody)") == true)
        try Self.chown(config, 0)
        try Self.chown(folder, Self.nobody)
        #expect(Self.load(config)?.description.contains("folder \(folder.path) is owned by user") == true)
        try Self.chown(folder, 0)
        #expect(Self.load(config) == nil)
        // The unix socket's folder and the state file's folder, by owner as well as mode.
        let sockets = folder.appendingPathComponent("sockets")
        try FileManager.default.createDirectory(at: sockets, withIntermediateDirectories: false)
        try Self.chown(sockets, Self.nobody)
        #expect(ProxyConfig.unixSocketProblem(sockets.appendingPathComponent("s").path)?.contains("owned by") == true)
        #expect(StateFileConfig.folderProblem(sockets.appendingPathComponent("state.json").path) != nil)
    }

    /// What Kubernetes mounts: a sticky, root-owned volume folder; `proxy.json -> ..data/proxy.json`,
    /// `..data -> ..<timestamp>`, a root-owned 0755 folder holding root-owned 0644 (or 0440) files.
    @Test func aKubernetesVolumeLayoutIsAccepted() throws {
        let config = try Self.layout()
        let volume = config.deletingLastPathComponent().appendingPathComponent("volume")
        let version = volume.appendingPathComponent("..2026_12_03_00_00_00.1")
        try FileManager.default.createDirectory(at: version, withIntermediateDirectories: true)
        try Self.chmod(volume, 0o1777)
        try Self.chmod(version, 0o755)
        try FileManager.default.copyItem(at: config, to: version.appendingPathComponent("proxy.json"))
        try FileManager.default.createSymbolicLink(
            atPath: volume.appendingPathComponent("..data").path, withDestinationPath: version.lastPathComponent)
        try FileManager.default.createSymbolicLink(
            atPath: volume.appendingPathComponent("proxy.json").path, withDestinationPath: "..data/proxy.json")
        #expect(FileTrust.fileProblem(volume.appendingPathComponent("proxy.json").path) == nil)
        // The same layout with a version folder others can write is not.
        try Self.chmod(version, 0o777)
        #expect(FileTrust.fileProblem(volume.appendingPathComponent("proxy.json").path) != nil)
    }

    /// systemd's credentials: `$CREDENTIALS_DIRECTORY` is the service user's, 0500, each file 0400.
    @Test func aSystemdCredentialsFolderIsAccepted() throws {
        let config = try Self.layout()
        let credentials = config.deletingLastPathComponent().appendingPathComponent("credentials")
        try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: false)
        try "secret\n".write(to: credentials.appendingPathComponent("password"), atomically: true, encoding: .utf8)
        try Self.chmod(credentials.appendingPathComponent("password"), 0o400)
        try Self.chmod(credentials, 0o500)
        #expect(FileTrust.fileProblem(credentials.appendingPathComponent("password").path) == nil)
        try Self.chmod(credentials, 0o700)
    }

    /// A running proxy refuses a reload from a config file others can write, keeps what it runs with, and says why.
    @Test func aReloadFromAFileOthersCanWriteIsRefused() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try CommandLineTests.writeConfig(mockPort: mock.port)
        try await ProductBinary.withProxy(config: config, environment: CommandLineTests.secretEnvironment) {
            (proxy: ProductBinary.Running, port: Int) async throws in
            #expect(await eventually { (try? await RawHTTPClient.get(port: port, "/api/v1/x").status) == 200 })
            // Another user's edit: the token URL now points at a listener of theirs.
            var text = try String(contentsOf: config, encoding: .utf8)
            text = text.replacingOccurrences(of: "/api/oauth/token", with: "/elsewhere/token")
            try text.write(to: config, atomically: false, encoding: .utf8)
            try Self.chmod(config, 0o666)
            #expect(await eventually(timeoutSeconds: 10) { proxy.printed.contains("config file refused") })
            #expect(proxy.printed.contains("mode 666"))
            #expect(try await RawHTTPClient.get(port: port, "/api/v1/still").status == 200)
            #expect(mock.state.tokenRequests(grant: "password") == 1)
        }
    }
}
