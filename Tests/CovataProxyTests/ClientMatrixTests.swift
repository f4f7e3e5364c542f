import CovataMock
import Foundation
import Testing

@testable import CovataProxy

/// Real client programs through covata-proxy, each configured as its users would: with the route's base URL,
/// and through the proxy environment where the client supports it.
@Suite struct ClientMatrixTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/clients").path

    /// The Java client compiled once for the whole run.
    static let javaClasses = Task {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("java-\(UUID().uuidString)").path
        try await Shell.run("javac -d '\(directory)' '\(fixtures)/Client.java'")
        return directory
    }

    struct Client: Sendable, CustomTestStringConvertible {
        let name: String
        /// Through `http_proxy` (absolute-form requests) rather than the base URL.
        let viaProxy: Bool
        /// Connections the client opens for three requests in a row: 1 when it keeps the connection alive.
        let connectionsForThree: Int
        var testDescription: String { "\(name) \(viaProxy ? "via proxy settings" : "with the base URL")" }
    }

    static let clients: [Client] = [
        Client(name: "curl", viaProxy: false, connectionsForThree: 1),
        Client(name: "curl", viaProxy: true, connectionsForThree: 1),
        Client(name: "wget", viaProxy: false, connectionsForThree: 1),
        Client(name: "wget", viaProxy: true, connectionsForThree: 1),
        Client(name: "python-urllib", viaProxy: false, connectionsForThree: 3),
        Client(name: "python-urllib", viaProxy: true, connectionsForThree: 3),
        Client(name: "python-http.client", viaProxy: false, connectionsForThree: 1),
        // By default it asks every new plain-http connection to upgrade to h2c. The request decoder stops after such
        // a request, so we answer it over HTTP/1.1 and close the connection (README: set HTTP_1_1 to keep it alive).
        Client(name: "java-httpclient", viaProxy: false, connectionsForThree: 3),
        Client(name: "java-httpclient", viaProxy: true, connectionsForThree: 1),
        Client(name: "java-urlconnection", viaProxy: false, connectionsForThree: 1),
        Client(name: "java-urlconnection", viaProxy: true, connectionsForThree: 1),
    ]

    /// The shell command that runs `operation` with `client`; it prints one JSON summary.
    static func command(_ client: Client, operation: String, port: Int, upload: String) async throws -> String {
        let base = client.viaProxy ? "http://covata.test" : "http://127.0.0.1:\(port)"
        let proxyEnv = client.viaProxy ? "http_proxy=http://127.0.0.1:\(port) " : "http_proxy= "
        switch client.name {
        case "python-urllib":
            return "\(proxyEnv)python3 '\(fixtures)/client.py' urllib '\(base)' \(operation) '\(upload)'"
        case "python-http.client":
            return "python3 '\(fixtures)/client.py' httpclient '\(base)' \(operation) '\(upload)'"
        case "java-httpclient", "java-urlconnection":
            let library = client.name == "java-httpclient" ? "httpclient" : "urlconnection"
            let proxy = client.viaProxy ? "-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=\(port) " : ""
            let classes = try await javaClasses.value
            return "java \(proxy)-cp '\(classes)' Client \(library) '\(base)' \(operation) '\(upload)'"
        default:
            return "\(proxyEnv)python3 '\(fixtures)/shell_client.py' \(client.name) '\(base)' \(operation) '\(upload)'"
        }
    }

    static func connectionsAccepted(_ harness: ProxyHarness) async throws -> Int {
        let text = String(
            decoding: try await RawHTTPClient.get(port: harness.adminPort, "/metrics").body, as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix("covata_proxy_connections_total ") }
        return Int(line?.split(separator: " ").last ?? "0") ?? 0
    }

    @Test(arguments: clients)
    func clientGetsWhatCovataWouldGiveIt(_ client: Client) async throws {
        let upload = FileManager.default.temporaryDirectory.appendingPathComponent("upload-\(UUID().uuidString)").path
        try await Shell.run("head -c 3145728 /dev/urandom > '\(upload)'")
        defer { try? FileManager.default.removeItem(atPath: upload) }
        let uploadSHA = try await Shell.run("sha256sum '\(upload)' | cut -d' ' -f1")
        try await ProxyHarness.with(configure: { $0.routes[0].hosts = ["covata.test"] }) { harness in
            func run(_ operation: String) async throws -> [String: Any] {
                let output = try await Shell.run(
                    try await Self.command(client, operation: operation, port: harness.port(), upload: upload))
                return try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] ?? [:]
            }
            let get = try await run("get")
            #expect(get["status"] as? Int == 200)
            let echo = get["echo"] as? [String: Any]
            #expect(echo?["uri"] as? String == "/api/v1/users/me?q=a%20b&x=1")
            let headers = (echo?["headers"] as? [[String]] ?? []).filter { $0[0].lowercased() == "authorization" }
            #expect(headers.count == 1 && headers.first?[1].hasPrefix("Bearer ") == true)

            let post = try await run("post")
            let posted = post["echo"] as? [String: Any]
            #expect(post["status"] as? Int == 200)
            #expect(posted?["method"] as? String == "POST")
            #expect((posted?["bodyBytes"] as? Int ?? 0) > 20)
            let contentType = (posted?["headers"] as? [[String]] ?? []).first { $0[0].lowercased() == "content-type" }
            #expect(contentType?[1].hasPrefix("application/json") == true)

            let uploaded = try await run("upload")
            #expect(uploaded["status"] as? Int == 200)
            #expect((uploaded["echo"] as? [String: Any])?["bodyBytes"] as? Int == 3_145_728)
            #expect((uploaded["echo"] as? [String: Any])?["bodySHA256"] as? String == uploadSHA)

            let download = try await run("download")
            #expect(download["status"] as? Int == 200)
            #expect(download["bytes"] as? Int == 5_000_000)
            #expect(download["pattern"] as? Bool == true)

            #expect(try await run("error")["status"] as? Int == 404)

            let before = try await Self.connectionsAccepted(harness)
            let keepAlive = try await run("keepalive")
            #expect(keepAlive["statuses"] as? [Int] == [200, 200, 200])
            let opened = try await Self.connectionsAccepted(harness) - before
            #expect(opened == client.connectionsForThree)
        }
    }
}
