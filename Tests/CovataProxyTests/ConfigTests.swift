import Foundation
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// proxy.json validation: every bad input is one message naming the key.
@Suite struct ConfigTests {
    static let environment = ["COVATA_CLIENT_SECRET": "s3cret"]

    /// A valid config; each case below changes one thing in it.
    static func base() -> [String: Any] {
        [
            "routes": [
                ["listen": "127.0.0.1:8080", "upstream": "https://access-service.example.com"],
                ["listen": "127.0.0.1:8081", "upstream": "https://content-service.example.com/base/"],
            ],
            "oauth": [
                "tokenURL": "https://access-service.example.com/api/oauth/token",
                "clientID": "exampleClientApplication",
                "clientSecret": ["env": "COVATA_CLIENT_SECRET"],
                "username": "svc-legacy@example.com",
                "password": "literal-password",
            ],
        ]
    }

    static func passwordSignIn(_ password: String) -> OAuthSignIn {
        .password(username: "svc-legacy@example.com", password: Secret(password))
    }

    static func parse(_ object: [String: Any], environment: [String: String] = environment) throws(ConfigError)
        -> ProxyConfig
    {
        let data = try! JSONSerialization.data(withJSONObject: object)
        return try ProxyConfig.parse(data, environment: environment, baseDirectory: "/nonexistent")
    }

    @Test func validConfigParses() throws {
        let config = try Self.parse(Self.base())
        #expect(config.routes.count == 2)
        #expect(config.routes[1].upstream.basePath == "/base")
        #expect(config.routes[1].upstream.origin == "https://content-service.example.com")
        #expect(config.oauth.clientSecret.value == "s3cret")
        #expect(config.oauth.signIn == Self.passwordSignIn("literal-password"))
        #expect(config.oauth.refreshAheadSeconds == 60)
        #expect(config.admin == nil)
        #expect(config.egressProxy == nil)
        #expect(config.tls == .systemDefault)
    }

    @Test func shippedProxyJSONIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("run"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(contentsOf: root.appendingPathComponent("proxy.json")).write(
            to: directory.appendingPathComponent("proxy.json"))
        try "pw\n".write(to: directory.appendingPathComponent("run/covata-password"), atomically: true, encoding: .utf8)
        let config = try ProxyConfig.load(
            path: directory.appendingPathComponent("proxy.json").path, environment: Self.environment)
        #expect(config.oauth.signIn == Self.passwordSignIn("pw"))
        #expect(config.routes.allSatisfy { $0.listen.isLocalOnly })
    }

    @Test func secretFromFileIsTrimmedOfOneTrailingNewline() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pw-\(UUID().uuidString)")
        try "line one \n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        var object = Self.base()
        var oauth = object["oauth"] as! [String: Any]
        oauth["password"] = ["file": file.path]
        object["oauth"] = oauth
        let signIn = try Self.parse(object).oauth.signIn
        #expect(signIn == Self.passwordSignIn("line one "))
    }

    @Test func unixSocketListenerAndOptionalSections() throws {
        var object = Self.base()
        object["routes"] = [["listen": "unix:/tmp/covata.sock", "upstream": "https://a.example.com"]]
        object["admin"] = ["listen": "[::1]:9901"]
        object["egressProxy"] = "proxy.corp.example:3128"
        object["log"] = ["level": "debug", "format": "text"]
        object["timeouts"] = ["connectSeconds": 2.5]
        let config = try Self.parse(object)
        #expect(config.routes[0].listen == .unix(path: "/tmp/covata.sock"))
        #expect(config.admin?.listen == .tcp(host: "::1", port: 9901))
        #expect(config.egressProxy == "http://proxy.corp.example:3128")
        #expect(config.log == LogConfig(level: .debug, format: .text))
        #expect(config.timeouts.connectSeconds == 2.5)
    }

    @Test func optInsAllowRemoteListenersAndPlainHTTP() throws {
        var object = Self.base()
        object["routes"] = [
            [
                "listen": "0.0.0.0:8080", "upstream": "http://covata.internal", "allowNonLoopback": true,
                "allowPlainHTTP": true,
            ]
        ]
        let config = try Self.parse(object)
        #expect(config.routes[0].upstream.scheme == "http")
    }

    struct BadCase: CustomTestStringConvertible, Sendable {
        let name: String
        let keyPath: String
        let change: @Sendable (inout [String: Any]) -> Void
        var testDescription: String { name }
    }

    static func oauthChange(_ key: String, _ value: (any Sendable)?) -> @Sendable (inout [String: Any]) -> Void {
        { object in
            var oauth = object["oauth"] as! [String: Any]
            oauth[key] = value
            object["oauth"] = oauth
        }
    }

    static func routeChange(_ key: String, _ value: any Sendable) -> @Sendable (inout [String: Any]) -> Void {
        { object in
            var routes = object["routes"] as! [[String: Any]]
            routes[1][key] = value
            object["routes"] = routes
        }
    }

    static let badCases: [BadCase] = [
        BadCase(name: "unknown top-level key", keyPath: "rotues") { $0["rotues"] = [] },
        BadCase(name: "routes missing", keyPath: "routes") { $0["routes"] = nil },
        BadCase(name: "routes empty", keyPath: "routes") { $0["routes"] = [] },
        BadCase(name: "routes not an array", keyPath: "routes") { $0["routes"] = "x" },
        BadCase(name: "unknown route key", keyPath: "routes[1].upstreem", change: routeChange("upstreem", "x")),
        BadCase(name: "listen wrong type", keyPath: "routes[1].listen", change: routeChange("listen", 8080)),
        BadCase(name: "listen without port", keyPath: "routes[1].listen", change: routeChange("listen", "localhost")),
        BadCase(
            name: "listen port out of range", keyPath: "routes[1].listen",
            change: routeChange("listen", "127.0.0.1:70000")),
        BadCase(
            name: "listen non-loopback", keyPath: "routes[1].listen", change: routeChange("listen", "0.0.0.0:8081")),
        BadCase(
            name: "listen relative unix path", keyPath: "routes[1].listen", change: routeChange("listen", "unix:x.sock")
        ),
        BadCase(name: "duplicate listen", keyPath: "routes[1].listen", change: routeChange("listen", "127.0.0.1:8080")),
        BadCase(
            name: "upstream not a URL", keyPath: "routes[1].upstream",
            change: routeChange("upstream", "content-service")),
        BadCase(
            name: "upstream ftp", keyPath: "routes[1].upstream", change: routeChange("upstream", "ftp://a.example.com")),
        BadCase(
            name: "upstream plain http", keyPath: "routes[1].upstream",
            change: routeChange("upstream", "http://a.example.com")),
        BadCase(
            name: "upstream with query", keyPath: "routes[1].upstream",
            change: routeChange("upstream", "https://a.example.com/?x=1")),
        BadCase(
            name: "allowPlainHTTP not bool", keyPath: "routes[1].allowPlainHTTP",
            change: routeChange("allowPlainHTTP", "yes")),
        BadCase(name: "oauth missing", keyPath: "oauth") { $0["oauth"] = nil },
        BadCase(name: "tokenURL missing", keyPath: "oauth.tokenURL", change: oauthChange("tokenURL", nil)),
        BadCase(
            name: "tokenURL plain http", keyPath: "oauth.tokenURL",
            change: oauthChange("tokenURL", "http://a.example.com/t")),
        BadCase(name: "clientID empty", keyPath: "oauth.clientID", change: oauthChange("clientID", "")),
        BadCase(name: "username number", keyPath: "oauth.username", change: oauthChange("username", 5)),
        BadCase(
            name: "secret env unset", keyPath: "oauth.clientSecret",
            change: oauthChange("clientSecret", ["env": "NOPE_UNSET"])),
        BadCase(
            name: "secret file missing", keyPath: "oauth.password",
            change: oauthChange("password", ["file": "/nonexistent/pw"])),
        BadCase(
            name: "secret unknown source", keyPath: "oauth.password.vault",
            change: oauthChange("password", ["vault": "x"])),
        BadCase(name: "secret missing", keyPath: "oauth.password", change: oauthChange("password", nil)),
        BadCase(name: "secret wrong type", keyPath: "oauth.password", change: oauthChange("password", 12)),
        BadCase(name: "unknown oauth key", keyPath: "oauth.grant_type", change: oauthChange("grant_type", "password")),
        BadCase(
            name: "refreshAhead negative", keyPath: "oauth.refreshAheadSeconds",
            change: oauthChange("refreshAheadSeconds", -1)),
        BadCase(
            name: "refreshAhead string", keyPath: "oauth.refreshAheadSeconds",
            change: oauthChange("refreshAheadSeconds", "60")),
        BadCase(
            name: "retry cap below initial", keyPath: "oauth.retryMaxSeconds",
            change: oauthChange("retryMaxSeconds", 0.5)),
        BadCase(name: "admin non-loopback", keyPath: "admin.listen") { $0["admin"] = ["listen": "10.0.0.1:9901"] },
        BadCase(name: "admin same as route", keyPath: "admin.listen") { $0["admin"] = ["listen": "127.0.0.1:8080"] },
        BadCase(name: "tls caFile missing", keyPath: "tls.caFile") { $0["tls"] = ["caFile": "/nonexistent/ca.pem"] },
        BadCase(name: "tls insecure not bool", keyPath: "tls.insecureSkipVerify") {
            $0["tls"] = ["insecureSkipVerify": 1]
        },
        BadCase(name: "tls unknown key", keyPath: "tls.ca") { $0["tls"] = ["ca": "x"] },
        BadCase(name: "egressProxy wrong type", keyPath: "egressProxy") { $0["egressProxy"] = true },
        BadCase(name: "log level unknown", keyPath: "log.level") { $0["log"] = ["level": "verbose"] },
        BadCase(name: "log format unknown", keyPath: "log.format") { $0["log"] = ["format": "xml"] },
        BadCase(name: "timeouts unknown key", keyPath: "timeouts.readSeconds") { $0["timeouts"] = ["readSeconds": 1] },
    ]

    @Test(arguments: badCases)
    func badConfigNamesTheKey(_ bad: BadCase) {
        var object = Self.base()
        bad.change(&object)
        #expect {
            _ = try Self.parse(object)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.keyPath == bad.keyPath && !error.message.isEmpty
        }
    }

    /// JSON mistakes say where they are; what a lenient parser lets through (trailing commas, a key given twice,
    /// which schema validators and Foundation resolved differently) is refused.
    @Test(arguments: [
        ("{ routes: ", "", "line 1, column 3: expected a key in double quotes"),
        ("{\n  \"routes\": [],\n}", "", "line 3, column 1: trailing comma before '}'"),
        ("{\n  \"routes\": [1, 2,]\n}", "", "line 2, column 19: trailing comma before ']'"),
        ("{\"log\": {\"level\": \"info\",\n \"level\": \"debug\"}}", "log.level", "duplicate key at line 2, column 2"),
        ("{\"routes\": [{\"listen\": \"a\", \"listen\": \"b\"}]}", "routes[0].listen", "duplicate key at line 1"),
        ("{\"a\": \"é\" \"b\": 1}", "", "line 1, column 11: expected ',' or '}'"),
        ("{\"a\": 01}", "", "no leading zeros"),
        ("{\"a\": \"x\"} extra", "", "unexpected text after the end of the document"),
        ("", "", "line 1, column 1: unexpected end of the file"),
    ])
    func jsonMistakesNameLineAndColumn(text: String, keyPath: String, message: String) {
        do {
            _ = try ProxyConfig.parse(Data(text.utf8), environment: [:])
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.keyPath == keyPath)
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func fileErrorsSayWhy() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (path, why) in [(folder.path + "/missing.json", "no such file"), (folder.path, "is a directory")] {
            do {
                _ = try ProxyConfig.load(path: path)
                Issue.record("loaded \(path)")
            } catch {
                #expect(error.message.hasSuffix(": \(why)"), "\(error.message)")
            }
        }
    }

    /// The error the base config gives with `changes` made to route `index`; nil when it is accepted.
    static func routeRefusal(_ index: Int, _ changes: [String: Any]) -> ConfigError? {
        var object = base()
        var routes = object["routes"] as! [[String: Any]]
        for (key, value) in changes { routes[index][key] = value }
        object["routes"] = routes
        do {
            _ = try parse(object)
            return nil
        } catch {
            return error
        }
    }

    /// Every value is type-checked, whether or not it changes anything: the schema and the proxy agree.
    @Test func typesAreCheckedEvenWhereTheValueChangesNothing() {
        #expect(Self.routeRefusal(0, ["allowNonLoopback": "yes"])?.keyPath == "routes[0].allowNonLoopback")
    }

    @Test func secretsNeverAppearInErrorsOrDescriptions() throws {
        var object = Self.base()
        var routes = object["routes"] as! [[String: Any]]
        routes[0]["listen"] = "0.0.0.0:1"
        object["routes"] = routes
        do {
            _ = try Self.parse(object)
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("s3cret"))
            #expect(!error.description.contains("literal-password"))
        }
        let config = try Self.parse(Self.base())
        let rendered = "\(config) \(String(reflecting: config))"
        #expect(!rendered.contains("s3cret"))
        #expect(!rendered.contains("literal-password"))
    }

    /// Which literal secrets get a hint, and which form it names (the process-level test shows the warning).
    @Test(arguments: [
        ("env:COVATA_PASSWORD", "env"), ("$COVATA_PASSWORD", "env"), ("${COVATA_PASSWORD}", "env"),
        ("${_X1", "env"), ("env:", nil), ("$", nil), ("${}", nil), ("$1ABC", nil), ("env:A-B", nil),
        ("password.txt", "file"), ("client-secret.key", "file"), ("a.b.pem", "file"), ("pw", nil), (".key", nil),
        ("my password.txt", nil), ("password.TXT", nil), ("/run/secrets/pw", "file"), ("correct horse", nil),
    ] as [(String, String?)])
    func literalSecretHints(literal: String, meant: String?) {
        let hint = Secret.literalHint(literal)
        let named = hint.flatMap { hint in ["env", "file"].first { hint.contains("{\"\($0)\":") } }
        #expect(named == meant, "\(literal): \(hint ?? "no hint")")
    }
}
