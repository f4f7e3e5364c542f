import Foundation
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// `oauth.grant`, the code grant's settings and the state file: valid shapes parse, each mistake names its key.
@Suite struct SignInConfigTests {
    /// The base config switched to the code grant, with a state file in an existing folder.
    static func codeGrant(_ changes: [String: (any Sendable)?] = [:]) -> [String: Any] {
        var object = ConfigTests.base()
        var oauth = object["oauth"] as! [String: Any]
        oauth["username"] = nil
        oauth["password"] = nil
        oauth["grant"] = "authorization_code"
        oauth["stateFile"] = privateFolder + "/absent-state.json"
        for (key, value) in changes { oauth[key] = value }
        object["oauth"] = oauth
        return object
    }

    /// A folder only the proxy's user can write, as the state file's folder must be.
    static let privateFolder: String = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sic-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(
            atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return folder
    }()

    @Test func codeGrantDefaultsNextToTheTokenEndpoint() throws {
        let config = try ConfigTests.parse(Self.codeGrant())
        guard case .authorizationCode(let settings) = config.oauth.signIn else {
            Issue.record("expected the code grant")
            return
        }
        #expect(settings.authorizeURL.text == "https://access-service.example.com/api/oauth/authorize")
        #expect(settings.redirectURI.text == RedirectURI.defaultValue)
        #expect(settings.pkce)
        #expect(config.oauth.stateFile?.key == nil)
    }

    @Test func stateKeyIsDecodedAndNeverPrinted() throws {
        let key = Data(repeating: 9, count: 32).base64EncodedString()
        let config = try ConfigTests.parse(Self.codeGrant(["stateKey": key]))
        #expect(config.oauth.stateFile?.key == StateKey(bytes: Array(repeating: 9, count: 32)))
        #expect(!"\(config)".contains(key))
        #expect(!String(reflecting: config).contains(key))
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        let name: String
        let keyPath: String
        let changes: [String: (any Sendable)?]
        var testDescription: String { name }
    }

    static let bad: [Bad] = [
        Bad(name: "unknown grant", keyPath: "oauth.grant", changes: ["grant": "client_credentials"]),
        Bad(name: "password with code grant", keyPath: "oauth.password", changes: ["password": "pw"]),
        Bad(name: "username with code grant", keyPath: "oauth.username", changes: ["username": "u@example.com"]),
        Bad(name: "no state file", keyPath: "oauth.stateFile", changes: ["stateFile": nil]),
        Bad(
            name: "state folder missing", keyPath: "oauth.stateFile",
            changes: ["stateFile": "/nonexistent/dir/s.json"]),
        Bad(name: "state key too short", keyPath: "oauth.stateKey", changes: ["stateKey": "c2hvcnQ="]),
        Bad(name: "state key not base64", keyPath: "oauth.stateKey", changes: ["stateKey": "not base64!"]),
        Bad(
            name: "redirect plain http remote", keyPath: "oauth.redirectURI",
            changes: ["redirectURI": "http://example.com/cb"]),
        Bad(name: "redirect not a URL", keyPath: "oauth.redirectURI", changes: ["redirectURI": "callback"]),
        Bad(name: "authorizeURL ftp", keyPath: "oauth.authorizeURL", changes: ["authorizeURL": "ftp://a.example/x"]),
        Bad(
            name: "no default authorizeURL", keyPath: "oauth.authorizeURL",
            changes: ["tokenURL": "https://access-service.example.com/oauth/issue"]),
        Bad(name: "pkce not a bool", keyPath: "oauth.pkce", changes: ["pkce": "yes"]),
    ]

    @Test(arguments: bad)
    func mistakesNameTheKey(_ item: Bad) {
        do {
            _ = try ConfigTests.parse(Self.codeGrant(item.changes))
            Issue.record("accepted: \(item.name)")
        } catch {
            #expect(error.keyPath == item.keyPath)
        }
    }

    @Test(arguments: ["redirectURI", "authorizeURL", "pkce"])
    func codeGrantKeysAreRefusedWithThePasswordGrant(key: String) {
        var object = ConfigTests.base()
        var oauth = object["oauth"] as! [String: Any]
        oauth[key] = key == "pkce" ? true : "https://access-service.example.com/x"
        object["oauth"] = oauth
        #expect(throws: ConfigError.self) { try ConfigTests.parse(object) }
    }
}
