import Foundation
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// The optional per-route checks on who may use the credential, over real sockets: the shared-secret header, the
/// method and path allow-lists, and the unix socket's file mode.
@Suite struct RouteAccessTests {
    static let proof = RequiredHeader(name: "x-covata-proxy-key", value: Secret("s3cret-of-the-tools"))

    @Test(arguments: [
        ([String](), 403), (["X-Covata-Proxy-Key: wrong"], 403), (["X-Covata-Proxy-Key: s3cret-of-the-tool"], 403),
        (["X-Covata-Proxy-Key: s3cret-of-the-tools", "X-Covata-Proxy-Key: s3cret-of-the-tools"], 403),
        (["X-Covata-Proxy-Key: s3cret-of-the-tools"], 200), (["x-covata-proxy-key: s3cret-of-the-tools"], 200),
    ])
    func requiredHeaderGatesTheRoute(headers: [String], status: Int) async throws {
        try await ProxyHarness.with(configure: { $0.routes[0].access.requiredHeader = Self.proof }) { harness in
            let response = try await RawHTTPClient.get(port: harness.port(), "/api/v1/x", headers: headers)
            #expect(response.status == status)
            #expect(harness.mock.state.apiRequests == (status == 200 ? 1 : 0))
            if status == 200 {
                // Covata never sees the tools' secret.
                let forwarded = (response.json["headers"] as? [[String]] ?? []).map { $0[0].lowercased() }
                #expect(!forwarded.contains("x-covata-proxy-key"))
            } else {
                #expect(response.json["error"] as? String == "caller_not_allowed")
                #expect(!String(decoding: response.body, as: UTF8.self).contains("s3cret"))
            }
        }
    }

    @Test(arguments: [
        ("GET", "/api/v1/files/1", 200), ("POST", "/api/v1/files", 200), ("DELETE", "/api/v1/files/1", 405),
        ("GET", "/api/v1/users/me", 403), ("GET", "/api/v1/filesystem", 403), ("GET", "/api/v1/files", 200),
    ])
    func methodAndPathAllowLists(method: String, path: String, status: Int) async throws {
        try await ProxyHarness.with(configure: { config in
            config.routes[0].access.methods = ["GET", "POST"]
            config.routes[0].access.pathPrefixes = ["/api/v1/files"]
        }) { harness in
            let body = method == "POST" ? "Content-Length: 2\r\n\r\n{}" : "\r\n"
            let response = try ParsedResponse(
                try await RawHTTPClient.exchange(
                    port: harness.port(),
                    "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\(body)"))
            #expect(response.status == status)
            #expect(harness.mock.state.apiRequests == (status == 200 ? 1 : 0))
            if status == 405 { #expect(response.header("Allow") == "GET, POST") }
        }
    }

    @Test(arguments: [0o600, 0o660])
    func unixSocketGetsTheConfiguredMode(mode: Int) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cp-\(UUID().uuidString.prefix(8)).sock"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await ProxyHarness.with(configure: { config in
            config.routes[0].listen = .unix(path: path)
            config.routes[0].access.socketMode = mode
        }) { _ in
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == mode)
        }
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        let keyPath: String
        let route: [String: any Sendable]
        var testDescription: String { keyPath }
    }

    @Test(arguments: [
        Bad(keyPath: "routes[0].socketMode", route: ["socketMode": "0600"]),
        Bad(keyPath: "routes[0].socketMode", route: ["listen": "unix:/tmp/x.sock", "socketMode": "0666"]),
        Bad(keyPath: "routes[0].socketMode", route: ["listen": "unix:/tmp/x.sock", "socketMode": "rw"]),
        Bad(keyPath: "routes[0].allowMethods[0]", route: ["allowMethods": ["GET /"]]),
        Bad(keyPath: "routes[0].allowPaths[0]", route: ["allowPaths": ["api/v1"]]),
        Bad(keyPath: "routes[0].requireHeader.name", route: ["requireHeader": ["name": "X Key", "value": "v"]]),
        Bad(keyPath: "routes[0].requireHeader.value", route: ["requireHeader": ["name": "X-Key"]]),
    ])
    func accessMistakesNameTheKey(_ item: Bad) {
        var object = ConfigTests.base()
        var routes = object["routes"] as! [[String: Any]]
        for (key, value) in item.route { routes[0][key] = value }
        object["routes"] = routes
        do {
            _ = try ConfigTests.parse(object)
            Issue.record("accepted")
        } catch {
            #expect(error.keyPath == item.keyPath)
        }
    }
}
