import Foundation
import Testing

@testable import CovataProxy

/// Every file in docker/ checked without a Docker engine.
@Suite struct DockerFilesTests {
    static let docker = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docker")

    /// YAML documents as JSON-like values, parsed by PyYAML.
    static func yaml(_ name: String) async throws -> [[String: Any]] {
        let json = try await Shell.run(
            "python3 -c 'import json,sys,yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))' '\(docker.appendingPathComponent(name).path)'"
        )
        return try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] ?? []
    }

    /// The admin paths the proxy really serves, asked of a running one.
    static let adminPaths = ["/healthz", "/readyz", "/metrics", "/status"]

    @Test func dockerfileBuildsInOneStageAndRunsSlimAndUnprivileged() throws {
        let text = try String(contentsOf: Self.docker.appendingPathComponent("Dockerfile"), encoding: .utf8)
        let stages = text.split(separator: "\n").filter { $0.hasPrefix("FROM ") }
        #expect(stages.count == 2)
        #expect(stages.first?.contains("swift:6.3") == true)
        #expect(stages.last?.contains("slim") == true)
        #expect(text.contains("libcurl4 ") && text.contains("ca-certificates"))
        let user = try #require(text.split(separator: "\n").last { $0.hasPrefix("USER ") })
        #expect(!user.contains("root") && !user.hasPrefix("USER 0"))
        let healthcheck = try #require(text.range(of: "HEALTHCHECK"))
        #expect(text[healthcheck.lowerBound...].contains("http://127.0.0.1:9901/readyz"))
        #expect(text.contains("EXPOSE 8080 8081 9901"))
        // Config and secrets are mounted, never copied in.
        #expect(!text.contains("COPY proxy.json") && !text.contains("password"))
        // The token state gets a private folder owned by the user the proxy runs as, kept as a volume.
        #expect(text.contains("install -d -o 10001 -g 10001 -m 0700 /var/lib/covata-proxy"))
        #expect(user.contains("10001"))
        #expect(text.contains("VOLUME /var/lib/covata-proxy"))
    }

    @Test func composeFileParsesAndReferencesExistingFiles() async throws {
        let compose = try #require(try await Self.yaml("compose.yaml").first)
        let services = try #require(compose["services"] as? [String: [String: Any]])
        #expect(Set(services.keys) == ["covata-mock", "covata-proxy", "legacy-tool"])
        #expect(services["legacy-tool"]?["network_mode"] as? String == "service:covata-proxy")
        for volume in services["covata-proxy"]?["volumes"] as? [String] ?? [] {
            let source = String(volume.split(separator: ":")[0])
            #expect(
                FileManager.default.fileExists(atPath: Self.docker.appendingPathComponent(source).path), "\(source)")
        }
        for case let secret as [String: String] in (compose["secrets"] as? [String: Any] ?? [:]).values {
            #expect(
                FileManager.default.fileExists(atPath: Self.docker.appendingPathComponent(secret["file"] ?? "").path))
        }
        let build = services["covata-mock"]?["build"] as? [String: String]
        let context = Self.docker.appendingPathComponent(build?["context"] ?? "")
        #expect(FileManager.default.fileExists(atPath: context.appendingPathComponent(build?["dockerfile"] ?? "").path))
        let test = (services["covata-proxy"]?["healthcheck"] as? [String: Any])?["test"] as? [String]
        #expect(test?.contains("http://127.0.0.1:9901/readyz") == true)
        // The compose proxy.json is a valid config (its password file is the compose secret).
        var text = try String(contentsOf: Self.docker.appendingPathComponent("compose/proxy.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: "/run/secrets/covata-password", with: "covata-password.txt")
        let config = try ProxyConfig.parse(
            Data(text.utf8), environment: ["COVATA_CLIENT_SECRET": "x"],
            baseDirectory: Self.docker.appendingPathComponent("compose").path)
        #expect(config.admin?.listen == .tcp(host: "127.0.0.1", port: 9901))
    }

    @Test func kubernetesPodHasProbesOnRealAdminPathsAndAValidConfig() async throws {
        let documents = try await Self.yaml("kubernetes/covata-proxy.yaml")
        let pod = try #require(documents.first { $0["kind"] as? String == "Pod" })
        let containers = (pod["spec"] as? [String: Any])?["containers"] as? [[String: Any]] ?? []
        let proxy = try #require(containers.first { $0["name"] as? String == "covata-proxy" })
        let configMap = try #require(documents.first { $0["kind"] as? String == "ConfigMap" })
        let proxyJSON = try #require((configMap["data"] as? [String: String])?["proxy.json"])
        let config = try ProxyConfig.parse(
            Data(proxyJSON.utf8), environment: ["COVATA_CLIENT_SECRET": "s", "COVATA_PASSWORD": "p"])
        guard case .tcp(_, let adminPort)? = config.admin?.listen else {
            Issue.record("the config map's proxy.json has no TCP admin listener")
            return
        }
        for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
            let command = ((proxy[probe] as? [String: Any])?["exec"] as? [String: Any])?["command"] as? [String] ?? []
            let url = try #require(command.first { $0.hasPrefix("http://") })
            #expect(url == "http://127.0.0.1:\(adminPort)\(path)")
            #expect(Self.adminPaths.contains(path))
        }
        let env = (proxy["env"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(Set(env) == ["COVATA_CLIENT_SECRET", "COVATA_PASSWORD"])
        let secret = try #require(documents.first { $0["kind"] as? String == "Secret" })
        #expect(Set((secret["stringData"] as? [String: String] ?? [:]).keys) == ["client-secret", "password"])
        let resources = proxy["resources"] as? [String: [String: String]]
        #expect(resources?["requests"]?["memory"] != nil && resources?["limits"]?["memory"] != nil)
    }

    @Test func adminPathsUsedByTheProbesAreServed() async throws {
        try await ProxyHarness.with { harness in
            for path in Self.adminPaths {
                let response = try await RawHTTPClient.get(port: harness.adminPort, path)
                #expect(response.status != 404, "\(path)")
            }
        }
    }
}
