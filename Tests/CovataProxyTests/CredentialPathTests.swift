import CovataMock
import CurlClient
import Foundation
import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// Where the credential may travel and who may reach the proxy, probed as an attacker on the same host would.
@Suite struct CredentialPathTests {
    /// Loopback traffic never goes through the egress proxy: it carries the password grant's form, the client secret
    /// and bearer tokens in the clear, allowed only because it stays on the machine.
    @Test func loopbackNeverGoesThroughTheEgressProxy() async throws {
        let egress = ScriptedUpstream([.init(bytes: "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")])
        try await egress.start()
        defer { Task { await egress.stop() } }
        try await ProxyHarness.with(configure: { $0.egressProxy = "http://127.0.0.1:\(egress.port)" }) {
            (harness: ProxyHarness) async throws in
            #expect(try await RawHTTPClient.get(port: harness.port(), "/api/v1/x").status == 200)
            #expect(harness.mock.state.tokenRequests(grant: "password") == 1)
        }
        #expect(egress.connections == 0)
    }

    @Test(arguments: ["not a url at all", "ftp://proxy.example:21", "http://", "http://proxy.example/path"])
    func egressProxyMustBeAProxyURL(_ value: String) {
        var object = ConfigTests.base()
        object["egressProxy"] = value
        #expect(throws: ConfigError.self) { try ConfigTests.parse(object) }
        do {
            _ = try ConfigTests.parse(object)
        } catch {
            #expect(error.keyPath == "egressProxy")
        }
    }

    @Test(arguments: ["proxy.example:3128", "http://proxy.example:3128", "socks5h://10.0.0.1:1080"])
    func egressProxyForms(_ value: String) throws {
        var object = ConfigTests.base()
        object["egressProxy"] = value
        let config = try ConfigTests.parse(object)
        #expect(config.egressProxy?.contains("://") == true)
    }

    /// The socket appears at its path only by a rename, already with its mode: never created there with the
    /// umask's mode and chmod-ed afterwards (another user connected in that window in 6 of 6 tries).
    @Test func unixSocketAppearsWithItsModeAlreadySet() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("us-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("proxy.sock").path
        let events = Shell.temporaryFile("inotify")
        let watcher = try ChildProcess(
            executable: "/usr/bin/inotifywait",
            arguments: ["-m", "-e", "create,moved_to,attrib", "--format", "%e %f", folder.path], environment: [:],
            stdinDescriptor: nil, outputPath: events)
        defer {
            watcher.signal(SIGTERM)
            _ = watcher.wait()
        }
        #expect(
            await eventually { ((try? String(contentsOfFile: events, encoding: .utf8)) ?? "").contains("established") })
        try await ProxyHarness.with(configure: { $0.routes[0].listen = .unix(path: path) }) { _ in
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        }
        #expect(
            await eventually {
                ((try? String(contentsOfFile: events, encoding: .utf8)) ?? "").contains("MOVED_TO proxy.sock")
            })
        let seen = (try? String(contentsOfFile: events, encoding: .utf8)) ?? ""
        #expect(!seen.contains("CREATE proxy.sock"), "the socket was created at its path: \(seen)")
        #expect(!seen.contains("ATTRIB proxy.sock"), "the socket's mode changed at its path: \(seen)")
    }

    /// A `unix:` path naming a folder or a file is refused, naming the key; nothing is deleted.
    @Test(arguments: ["folder", "file"])
    func unixPathThatIsNotASocketIsRefused(_ kind: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("up-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("taken")
        if kind == "folder" {
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            try "keep me".write(to: target.appendingPathComponent("precious.txt"), atomically: true, encoding: .utf8)
        } else {
            try "keep me".write(to: target, atomically: true, encoding: .utf8)
        }
        let refusal = ConfigTests.routeRefusal(1, ["listen": "unix:\(target.path)"])
        #expect(refusal?.keyPath == "routes[1].listen")
        #expect(refusal?.message.contains("not a socket") == true)
        let kept = kind == "folder" ? target.appendingPathComponent("precious.txt") : target
        #expect(FileManager.default.fileExists(atPath: kept.path))
    }

    @Test func unixSocketInAFolderOthersCanWriteIsRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("uw-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: folder.path)
        let listen = ["listen": "unix:\(folder.path)/proxy.sock"]
        #expect(ConfigTests.routeRefusal(0, listen)?.keyPath == "routes[0].listen")
        // The sticky bit stops others from replacing what is not theirs, as in /tmp.
        try FileManager.default.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: folder.path)
        #expect(ConfigTests.routeRefusal(0, listen) == nil)
    }

    /// The admin listener gets the routes' Host and browser rule: a DNS-rebinding page cannot read `/status`.
    @Test func adminListenerRefusesForeignHostsAndBrowsers() async throws {
        try await ProxyHarness.with { (harness: ProxyHarness) async throws in
            let port = harness.adminPort
            #expect(try await RawHTTPClient.get(port: port, "/status").status == 200)
            let rebound = try await RawHTTPClient.exchange(
                port: port, "GET /status HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
            let misdirected = try ParsedResponse(rebound)
            #expect(misdirected.status == 421)
            #expect(!String(decoding: misdirected.body, as: UTF8.self).contains("jti"))
            let page = try await RawHTTPClient.get(port: port, "/metrics", headers: ["Origin: http://evil.example"])
            #expect(page.status == 403)
            #expect(try await RawHTTPClient.get(port: port, "/readyz", headers: ["Host: localhost"]).status == 200)
        }
    }

    /// Idle and half-sent requests on the admin listener are closed by the client time limits.
    @Test func adminListenerHasClientTimeouts() async throws {
        try await ProxyHarness.with(configure: {
            $0.timeouts.clientHeaderSeconds = 0.3
            $0.timeouts.clientIdleSeconds = 0.3
        }) { (harness: ProxyHarness) async throws in
            // What a client gets until the proxy closes: a half-sent head, then nothing at all.
            let reader = """
                import socket, sys
                s = socket.create_connection(('127.0.0.1', \(harness.adminPort)))
                s.settimeout(10)
                s.sendall(sys.argv[1].encode())
                data = b''
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                print(repr(data[:12]))
                """
            let halfSent = try await Shell.run(
                "python3 - 'GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n' <<'EOF'\n\(reader)\nEOF")
            #expect(halfSent == "b'HTTP/1.1 408'")
            #expect(try await Shell.run("python3 - '' <<'EOF'\n\(reader)\nEOF") == "b''")
        }
    }

    /// Secret files others can read are named at start (not refused: Kubernetes mounts secrets 0644). Readable by
    /// its group is fine when that group is the proxy's own (Kubernetes' fsGroup set to the proxy's runAsGroup).
    @Test func secretFilesOthersCanReadAreWarnedAbout() async throws {
        let config = try CommandLineTests.writeConfig(mockPort: 9)
        let password = config.deletingLastPathComponent().appendingPathComponent("password").path
        let binary = ProductBinary("covata-proxy")
        let ownGroup = try #require(SecretFileSource.effectiveGroupID())
        var cases = [(0o644, ownGroup, true), (0o640, ownGroup, false), (0o600, ownGroup, false)]
        if StateFileConfig.effectiveUserID() == 0 { cases.append((0o640, 65534, true)) }  // another group
        for (mode, group, warned) in cases {
            try FileManager.default.setAttributes(
                [.posixPermissions: mode, .groupOwnerAccountID: group], ofItemAtPath: password)
            let (status, printed) = try await binary.run(
                ["check-config", "--config", config.path], environment: CommandLineTests.secretEnvironment)
            #expect(status == 0)
            #expect(printed.contains("warning: oauth.password:") == warned, "mode \(String(mode, radix: 8))")
        }
    }

    /// An IPv6-literal upstream works (it became `http://[[::1]]:port`), and so does an IPv6 listener.
    @Test func ipv6UpstreamAndListener() async throws {
        let upstream = ScriptedUpstream([.init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nv6\n")])
        try await upstream.start(host: "::1")
        defer { Task { await upstream.stop() } }
        let parsed = try UpstreamURL.parse(
            "http://[::1]:\(upstream.port)/api", keyPath: "routes[0].upstream", allowPlainHTTP: false)
        #expect(parsed.origin == "http://[::1]:\(upstream.port)")
        try await ProxyHarness.with(configure: {
            $0.routes[0].upstream = parsed
            $0.routes[0].listen = .tcp(host: "::1", port: 0)
        }) { (harness: ProxyHarness) async throws in
            let answer = try await Shell.run("curl -sg -o - -w ' %{http_code}' 'http://[::1]:\(harness.port())/v1/x'")
            #expect(answer == "v6\n 200")
            #expect(upstream.requests == 1)
        }
    }

    /// Method and URL override headers never reach the upstream: behind a route's allowMethods or allowPaths they
    /// would let a client around them.
    @Test func methodAndURLOverridesAreDropped() async throws {
        try await ProxyHarness.with { (harness: ProxyHarness) async throws in
            let answer = try await RawHTTPClient.get(
                port: harness.port(), "/api/v1/read",
                headers: [
                    "X-HTTP-Method-Override: DELETE", "X-Method-Override: DELETE", "X-HTTP-Method: PUT",
                    "X-Original-URL: /api/v1/admin", "X-Rewrite-URL: /api/v1/admin", "X-Kept: yes",
                ])
            #expect(answer.status == 200)
            let forwarded = (answer.json["headers"] as? [[String]] ?? []).map { $0[0].lowercased() }
            #expect(forwarded.contains("x-kept"))
            for name in HeaderPolicy.overrides.names { #expect(!forwarded.contains(name), "\(name) was forwarded") }
        }
    }
}

/// Issue #26, 3: a listener named `localhost` holds both loopback addresses, so nobody else can take `[::1]:PORT`
/// and receive what curl sends to `http://localhost:PORT` (it tries `::1` first).
@Suite struct LocalhostListenerTests {
    static func squat(_ host: String, _ port: Int) async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: host, port: port).get()
    }

    @Test func localhostBindsBothLoopbackAddresses() async throws {
        try await ProxyHarness.with(configure: { $0.routes[0].listen = .tcp(host: "localhost", port: 0) }) { harness in
            let port = harness.port()
            // Another local user's listener on [::1] at the same port: it must not be possible.
            await #expect(throws: (any Error).self) { try await Self.squat("::1", port).close() }
            // And a client that goes to [::1] reaches the proxy.
            let answer = try await RawConnection.withIPv6(port: port) { connection in
                try await connection.write("GET /api/v1/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                try await connection.read { _ in false }
                return try ParsedResponse(connection.received)
            }
            #expect(answer.status == 200)
        }
    }

    @Test func aTakenIPv6HalfFailsTheStartNamingIt() async throws {
        // A port below the ephemeral range (32768 and up), free on both addresses: a port the kernel handed out for
        // the probe could be handed to an outgoing connection on 127.0.0.1 before the proxy binds it.
        var found: (port: Int, squatter: any Channel)?
        for _ in 0..<50 where found == nil {
            let port = Int.random(in: 20_000..<32_000)
            guard let probe = try? await Self.squat("127.0.0.1", port) else { continue }
            try await probe.close()
            if let squatter = try? await Self.squat("::1", port) { found = (port, squatter) }
        }
        let (port, squatter) = try #require(found)
        defer { Task { try? await squatter.close() } }
        await #expect(throws: ListenerError.self) {
            try await ProxyHarness.with(configure: { $0.routes[0].listen = .tcp(host: "localhost", port: port) }) { _ in
            }
        }
        do {
            try await ProxyHarness.with(configure: { $0.routes[0].listen = .tcp(host: "localhost", port: port) }) { _ in
            }
        } catch {
            #expect("\(error)".contains("[::1]:\(port) cannot be bound"))
            #expect("\(error)".contains("routes[0].listen"))
        }
    }
}
