import ProxyObservability
import CovataMock
import Foundation
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// The admin listener over real sockets: health, token-aware readiness, Prometheus metrics and status.
@Suite struct AdminTests {
    @Test func healthAndReadinessWithAValidToken() async throws {
        try await ProxyHarness.with { harness in
            let health = try await RawHTTPClient.get(port: harness.adminPort, "/healthz")
            #expect(health.status == 200)
            #expect(
                await eventually { (try? await RawHTTPClient.get(port: harness.adminPort, "/readyz").status) == 200 })
            #expect(try await RawHTTPClient.get(port: harness.adminPort, "/nope").status == 404)
            // The admin paths are not served on a route listener: they go to Covata like any other path.
            let onRoute = try await RawHTTPClient.get(port: harness.port(), "/readyz")
            #expect(onRoute.status == 404)
            #expect(onRoute.json["error"] as? String == "not_found")
        }
    }

    @Test func readinessReportsRejectedCredentials() async throws {
        try await ProxyHarness.with(password: "wrong") { harness in
            #expect(await eventually { await harness.proxy.tokens.status().credentialsRejected })
            let ready = try await RawHTTPClient.get(port: harness.adminPort, "/readyz")
            #expect(ready.status == 503)
            #expect(String(decoding: ready.body, as: UTF8.self).contains("credentials rejected"))
            #expect(try await RawHTTPClient.get(port: harness.adminPort, "/healthz").status == 200)
        }
    }

    /// The code grant with nothing stored: not ready, and clients get a 503 naming the command to run.
    @Test func signInRequiredIsReportedWithTheCommandToRun() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try await ProxyHarness.with(configure: { config in
            config.oauth.signIn = TokenStateIntegrationTests.codeGrant
            config.oauth.stateFile = StateFileConfig(path: folder.appendingPathComponent("s.json").path, key: nil)
            config.sourcePath = "/etc/covata/proxy.json"
        }) { harness in
            let answer = try await RawHTTPClient.get(port: harness.port(), "/api/v1/x")
            #expect(answer.status == 503)
            #expect(answer.json["error"] as? String == "sign_in_required")
            let message = answer.json["message"] as? String ?? ""
            #expect(message.contains("covata-proxy login --config /etc/covata/proxy.json"))
            let ready = try await RawHTTPClient.get(port: harness.adminPort, "/readyz")
            #expect(ready.status == 503)
            #expect(String(decoding: ready.body, as: UTF8.self).contains("covata-proxy login"))
            #expect(harness.mock.state.apiRequests == 0)
            #expect(harness.mock.state.tokenRequests(grant: "refresh_token") == 0)
        }
    }

    @Test func readinessFlipsWithTheTokenEndpoint() async throws {
        try await ProxyHarness.with(tokenFault: .status(503)) { harness in
            let down = try await RawHTTPClient.get(port: harness.adminPort, "/readyz")
            #expect(down.status == 503)
            #expect(String(decoding: down.body, as: UTF8.self).contains("no valid token"))
            harness.mock.state.setFault(.none)
            #expect(
                await eventually { (try? await RawHTTPClient.get(port: harness.adminPort, "/readyz").status) == 200 })
            // Revoked at Covata and refused on refresh and password alike: not ready again once it expires.
            let token = try await harness.proxy.tokens.token()
            harness.mock.state.revokeAll(includingRefreshTokens: true)
            harness.mock.state.setPassword("changed")
            // The retired token is replaced at once, before any client asks.
            await harness.proxy.tokens.invalidate(token, resource: "/api/v1/x")
            _ = try? await harness.proxy.tokens.token()
            #expect(try await RawHTTPClient.get(port: harness.adminPort, "/readyz").status == 503)
        }
    }

    @Test func metricsCountRequestsTokensAndReplays() async throws {
        try await ProxyHarness.with { (harness: ProxyHarness) async throws in
            _ = try await RawHTTPClient.get(port: harness.port(), "/api/v1/a")
            harness.mock.state.revokeAll()
            _ = try await RawHTTPClient.get(port: harness.port(), "/api/v1/b")
            _ = try await RawHTTPClient.get(port: harness.port(), "/api/v1/c?status=404")
            _ = try await RawHTTPClient.get(port: harness.port(), "/api/v1/d", headers: ["Origin: https://x.example"])
            let text = String(
                decoding: try await RawHTTPClient.get(port: harness.adminPort, "/metrics").body, as: UTF8.self)
            let route = "127.0.0.1:0"
            #expect(text.contains(#"covata_proxy_requests_total{route="\#(route)",method="GET",status="2xx"} 2"#))
            #expect(text.contains(#"covata_proxy_requests_total{route="\#(route)",method="GET",status="4xx"} 2"#))
            #expect(
                text.contains(#"covata_proxy_own_answers_total{route="\#(route)",error="browser_request_refused"} 1"#))
            #expect(text.contains(#"covata_proxy_token_operations_total{grant="password",outcome="success"} 2"#))
            #expect(text.contains("covata_proxy_replays_total 1"))
            #expect(text.contains("covata_proxy_upstream_latency_seconds_bucket"))
            #expect(text.contains("covata_proxy_response_body_bytes_total"))
            #expect(text.contains("covata_proxy_active_connections"))
            #expect(text.contains(#"covata_proxy_build_info{version="\#(BuildInfo.version)",libcurl="#))
            let now = Date().timeIntervalSince1970
            func value(_ name: String) -> Double {
                let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
                return Double(line?.split(separator: " ").last ?? "") ?? 0
            }
            #expect(value("covata_proxy_token_expiry_timestamp_seconds") > now + 3000)
            #expect(abs(value("covata_proxy_token_last_success_timestamp_seconds") - now) < 60)
            #expect(value("process_resident_memory_bytes") > 1_000_000)
            #expect(value("process_open_fds") > 3)
            #expect(abs(value("process_start_time_seconds") - now) < 600)
        }
    }

    /// /metrics read by Prometheus' own Python parser: every family has help and a type, and names follow the
    /// conventions (counters end in _total, units in the name).
    @Test func metricsFollowPrometheusConventions() async throws {
        try await ProxyHarness.with { (harness: ProxyHarness) async throws in
            _ = try await RawHTTPClient.get(port: harness.port(), "/api/v1/a")
            let body = try await RawHTTPClient.get(port: harness.adminPort, "/metrics").body
            let file = Shell.temporaryFile("metrics")
            try Data(body).write(to: URL(fileURLWithPath: file))
            let python = try DockerFilesTests.venvTool("python")
            let script = """
                import sys
                from prometheus_client.parser import text_string_to_metric_families
                for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                    print(family.name, family.type, 'help' if family.documentation else 'nohelp')
                """
            let printed = try await Shell.run("'\(python)' - '\(file)' <<'EOF'\n\(script)\nEOF")
            var families: [String: String] = [:]
            for line in printed.split(separator: "\n") {
                let parts = line.split(separator: " ").map(String.init)
                #expect(parts.count == 3 && parts[2] == "help", "\(line)")
                families[parts[0]] = parts[1]
            }
            // The parser reports counters without their _total suffix.
            for counter in [
                "covata_proxy_requests", "covata_proxy_token_operations", "covata_proxy_replays",
                "covata_proxy_request_body_bytes", "covata_proxy_response_body_bytes", "process_cpu_seconds",
            ] {
                #expect(families[counter] == "counter", "\(counter)")
            }
            #expect(families["covata_proxy_upstream_latency_seconds"] == "histogram")
            for gauge in [
                "covata_proxy_build_info", "covata_proxy_token_expiry_timestamp_seconds",
                "covata_proxy_token_last_success_timestamp_seconds", "process_resident_memory_bytes",
                "process_open_fds", "process_start_time_seconds",
            ] {
                #expect(families[gauge] == "gauge", "\(gauge)")
            }
        }
    }

    @Test func statusDescribesTokenAndRoutesWithoutSecrets() async throws {
        try await ProxyHarness.with { harness in
            let token = try await harness.proxy.tokens.token()
            let response = try await RawHTTPClient.get(port: harness.adminPort, "/status")
            let json = response.json
            #expect(json["version"] as? String == BuildInfo.version)
            #expect((json["routes"] as? [[String: String]])?.first?["listen"] == "127.0.0.1:\(harness.port())")
            let tokenInfo = json["token"] as? [String: Any]
            #expect(tokenInfo?["jti"] as? String == token.jti)
            #expect(tokenInfo?["valid"] as? Bool == true)
            #expect((tokenInfo?["secondsToExpiry"] as? Int ?? 0) > 3000)
            #expect(json["uptimeSeconds"] != nil)
            let text = String(decoding: response.body, as: UTF8.self)
            for secret in harness.mock.state.issuedTokens + [MockSettings().password, MockSettings().clientSecret] {
                #expect(!text.contains(secret))
            }
        }
    }

    @Test func accessLogLinesOmitQueryValues() async throws {
        try await ProxyHarness.with { harness in
            _ = try await RawHTTPClient.get(port: harness.port(), "/api/v1/items?user=alice&ssn=123-45")
            #expect(await eventually { harness.logs.text.contains("path=/api/v1/items?user&ssn") })
            #expect(!harness.logs.text.contains("alice"))
            #expect(harness.logs.text.contains("status=200"))
            #expect(harness.logs.text.contains("replayed=false"))
        }
    }

    @Test func accessLogCanBeSwitchedOff() async throws {
        try await ProxyHarness.with(configure: { $0.log.accessLog = false }) { harness in
            _ = try await RawHTTPClient.get(port: harness.port(), "/api/v1/quiet")
            #expect(!harness.logs.text.contains("/api/v1/quiet"))
        }
    }
}
