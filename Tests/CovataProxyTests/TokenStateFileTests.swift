import CurlClient
import Foundation
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// The token state file on a real file system: format, encryption, crash safety and permissions.
@Suite struct TokenStateFileTests {
    static let key = StateKey(bytes: Array(repeating: 7, count: 32))

    static func sample(refresh: String = "rt-one") -> TokenState {
        TokenState(
            tokenURL: "https://access.example.com/api/oauth/token", clientID: "exampleClientApplication",
            username: "svc@example.com", refreshToken: Secret(refresh), accessToken: Secret("eyJ.access.token"),
            accessTokenExpiresAt: 1_900_000_000, accessTokenLifetime: 3600, jti: "jti-1", scope: "read write")
    }

    /// A fresh folder with the state file's path in it; removed afterwards.
    static func withFolder(_ body: (String) throws -> Void) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try body(folder.appendingPathComponent("token-state.json").path)
    }

    static func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// Issue #30: root running `covata-proxy token` or `login` by hand beside the service never leaves a root-owned
    /// state file the service's user would refuse: the file goes to the owner of its folder.
    @Test func rootWritesTheFileForTheFoldersOwner() throws {
        guard StateFileConfig.effectiveUserID() == 0 else { return }
        try Self.withFolder { path in
            let folder = (path as NSString).deletingLastPathComponent
            try FileManager.default.setAttributes(
                [.ownerAccountID: 65534, .groupOwnerAccountID: 65534], ofItemAtPath: folder)
            #expect(TokenStateFile(StateFileConfig(path: path, key: nil)).save(Self.sample()) == nil)
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.ownerAccountID] as? NSNumber)?.intValue == 65534)
            #expect(Self.mode(path) == 0o600)
        }
    }

    @Test(arguments: [false, true])
    func savedStateLoadsBackWithMode0600(encrypted: Bool) throws {
        try Self.withFolder { path in
            let file = TokenStateFile(StateFileConfig(path: path, key: encrypted ? Self.key : nil))
            #expect(file.save(Self.sample()) == nil)
            #expect(Self.mode(path) == 0o600)
            guard case .state(let loaded) = file.load() else {
                Issue.record("state did not load back")
                return
            }
            #expect(loaded == Self.sample())
            let text = try String(contentsOfFile: path, encoding: .utf8)
            // Encrypted, neither token is readable in the file; plain, both are (mode 0600 protects them).
            #expect(text.contains("rt-one") != encrypted)
            #expect(text.contains("eyJ.access.token") != encrypted)
        }
    }

    @Test func encryptedStateNeedsTheSameKey() throws {
        try Self.withFolder { path in
            #expect(TokenStateFile(StateFileConfig(path: path, key: Self.key)).save(Self.sample()) == nil)
            let otherKey = StateKey(bytes: Array(repeating: 8, count: 32))
            for key in [otherKey, nil] {
                guard case .unusable(let reason) = TokenStateFile(StateFileConfig(path: path, key: key)).load() else {
                    Issue.record("a sealed state opened without its key")
                    continue
                }
                #expect(reason.contains("stateKey"))
            }
        }
    }

    /// A crash while writing (after 0, some or all but one of the bytes) leaves the previous state intact.
    @Test(arguments: [0, 1, 100, -1])
    func crashWhileWritingKeepsTheOldState(stopAfter: Int) throws {
        try Self.withFolder { path in
            let file = TokenStateFile(StateFileConfig(path: path, key: nil))
            #expect(file.save(Self.sample(refresh: "rt-old")) == nil)
            let newBytes = try #require(file.encode(Self.sample(refresh: "rt-new")))
            let limit = stopAfter < 0 ? newBytes.count - 1 : stopAfter
            #expect(file.save(Self.sample(refresh: "rt-new"), stoppingAfter: limit) != nil)
            guard case .state(let survivor) = file.load() else {
                Issue.record("the old state did not survive")
                return
            }
            #expect(survivor.refreshToken == Secret("rt-old"))
            // The next write succeeds over the debris.
            #expect(file.save(Self.sample(refresh: "rt-new")) == nil)
            guard case .state(let updated) = file.load() else { return }
            #expect(updated.refreshToken == Secret("rt-new"))
        }
    }

    static let corrupt: [String] = [
        "", "not json", "{}", "[1,2]", #"{"format":"something else","version":1}"#,
        #"{"format":"covata-proxy token state","version":2,"state":{"tokenURL":"x","clientID":"y"}}"#,
        #"{"format":"covata-proxy token state","version":1,"encryption":"AES-256-GCM","sealed":"AAAA"}"#,
        #"{"format":"covata-proxy token state","version":1}"#,
        #"{"format":"covata-proxy token state","version":1,"state":{"clientID":"y"}}"#,
    ]

    @Test(arguments: corrupt)
    func corruptFileIsUnusableNotFatal(content: String) throws {
        try Self.withFolder { path in
            try content.write(toFile: path, atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            guard case .unusable = TokenStateFile(StateFileConfig(path: path, key: Self.key)).load() else {
                Issue.record("corrupt content was accepted: \(content)")
                return
            }
        }
    }

    /// Group or other access to the refresh token refuses start-up, naming the key; owner-only is accepted.
    @Test(arguments: [(0o600, true), (0o400, true), (0o644, false), (0o640, false), (0o604, false), (0o660, false)])
    func widePermissionsAreRefused(mode: Int, accepted: Bool) throws {
        try Self.withFolder { path in
            try "{}".write(toFile: path, atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
            do throws(ConfigError) {
                try StateFileConfig.checkExisting(path: path, keyPath: "oauth.stateFile")
                #expect(accepted)
            } catch {
                #expect(!accepted)
                #expect(error.keyPath == "oauth.stateFile")
                #expect("\(error)".contains("chmod 600"))
            }
        }
    }
}
