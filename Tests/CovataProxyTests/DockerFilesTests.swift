import ProxyObservability
import Foundation
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

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

    static let root = docker.deletingLastPathComponent()

    /// A tool from the project's own venv (`.ci/install-deps` makes it).
    static func venvTool(_ name: String) throws -> String {
        let path = root.appendingPathComponent(".venv-ci/bin/\(name)").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ToolMissing(name: name)
        }
        return path
    }

    struct ToolMissing: Error, CustomStringConvertible {
        var name: String
        var description: String { "\(name) is not installed: run make deps (.ci/install-deps)" }
    }

    @Test func dockerfileBuildsInOneStageAndRunsSlimAndUnprivileged() throws {
        let text = try String(contentsOf: Self.docker.appendingPathComponent("Dockerfile"), encoding: .utf8)
        let lines = text.split(separator: "\n")
        let stages = lines.filter { $0.hasPrefix("FROM ") }
        #expect(stages.count == 2)
        #expect(stages.first?.contains("swift:6.3") == true)
        #expect(stages.last?.contains("slim") == true)
        #expect(text.contains("libcurl4 ") && text.contains("ca-certificates"))
        let user = try #require(lines.last { $0.hasPrefix("USER ") })
        #expect(!user.contains("root") && !user.hasPrefix("USER 0"))
        // The health check is covata-proxy itself: no curl in the image, and it says when no admin listener is set.
        let healthcheck = try #require(text.range(of: "HEALTHCHECK"))
        #expect(text[healthcheck.lowerBound...].contains(#""/usr/local/bin/covata-proxy", "health""#))
        #expect(!text.contains(" curl"))
        // The listeners are loopback-only by design: nothing to publish.
        #expect(!lines.contains { $0.hasPrefix("EXPOSE") })
        // Config and secrets are mounted, never copied in.
        #expect(!text.contains("COPY proxy.json") && !text.contains("password"))
        // The token state gets a private folder owned by the user the proxy runs as, kept as a volume.
        #expect(text.contains("install -d -o 10001 -g 10001 -m 0700 /var/lib/covata-proxy"))
        #expect(user.contains("10001"))
        #expect(text.contains("VOLUME /var/lib/covata-proxy"))
        // Issue #30: the image, compose and Kubernetes name one config path, a file in a mounted folder.
        #expect(text.contains(#"CMD ["run", "--config", "/etc/covata-proxy/config/proxy.json"]"#))
        #expect(text[healthcheck.lowerBound...].contains("/etc/covata-proxy/config/proxy.json"))
    }

    /// The image, the Debian package and the benchmark build the release binary one way: the benchmark measures
    /// what users run, so a flag added to one of them must be added to all.
    @Test func everyShippedBuildUsesTheSameFlags() throws {
        let flags = ["-c release", "--static-swift-stdlib", "--experimental-lto-mode=full"]
        for file in ["docker/Dockerfile", "packaging/build-deb", "bench/lib.sh", "bench/run"] {
            let text = try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8)
            let builds = text.split(separator: "\n").filter {
                $0.contains("--static-swift-stdlib") && !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#")
            }
            #expect(!builds.isEmpty, "\(file) builds no shipped binary")
            for line in builds {
                #expect(flags.allSatisfy { line.contains($0) }, "\(file): \(line)")
            }
        }
    }

    /// The build stage in exactly the context its COPY lines make (the full build is `make image-check`).
    @Test func buildStageLoadsThePackageInItsOwnContext() async throws {
        let checker = Self.docker.appendingPathComponent("check-build-stage").path
        let printed = try await Shell.run("'\(checker)' 2>&1")
        #expect(printed.contains("the package loads in the build context"))
        // What the image copied before (Package.swift and Sources/ only) does not load: the check can fail.
        let old = Shell.temporaryFile("Dockerfile")
        try """
        FROM swift:6.3-bookworm AS build
        WORKDIR /src
        COPY Package.swift ./
        COPY Sources ./Sources
        RUN swift build -c release
        FROM debian:bookworm-slim
        """.write(toFile: old, atomically: true, encoding: .utf8)
        let failed = try await Shell.run("'\(checker)' --dockerfile '\(old)' 2>&1; echo \"exit $?\"")
        // SwiftPM stops on the missing test folders (it once took Sources/ for the test target's folder instead).
        #expect(failed.contains("swift package describe failed in the build context"))
        #expect(failed.contains("Tests/"))
        #expect(failed.hasSuffix("exit 1"))
    }

    @Test func hadolintFindsNoErrors() async throws {
        let hadolint = try Self.venvTool("hadolint")
        let dockerfile = Self.docker.appendingPathComponent("Dockerfile").path
        let printed = try await Shell.run(
            "'\(hadolint)' --no-color --failure-threshold error '\(dockerfile)'; echo \"exit $?\"")
        #expect(printed.hasSuffix("exit 0"), "\(printed)")
    }

    @Test func composeFileParsesAndReferencesExistingFiles() async throws {
        let compose = try #require(try await Self.yaml("compose.yaml").first)
        let services = try #require(compose["services"] as? [String: [String: Any]])
        #expect(Set(services.keys) == ["covata-mock", "covata-proxy", "legacy-tool"])
        #expect(services["legacy-tool"]?["network_mode"] as? String == "service:covata-proxy")
        for volume in services["covata-proxy"]?["volumes"] as? [String] ?? [] {
            let source = String(volume.split(separator: ":")[0])
            // A folder, never a single file: a reload on edit must see an editor's replaced file (issue #30).
            var isFolder: ObjCBool = false
            #expect(
                FileManager.default.fileExists(
                    atPath: Self.docker.appendingPathComponent(source).path, isDirectory: &isFolder), "\(source)")
            #expect(isFolder.boolValue, "\(source) is mounted as a single file")
        }
        // One tag everywhere: the version the binary reports.
        #expect(services["covata-proxy"]?["image"] as? String == "covata-proxy:\(BuildInfo.version)")
        let command = services["covata-proxy"]?["command"] as? [String]
        #expect(command?.last == "/etc/covata-proxy/config/proxy.json")
        var secretFiles: [String: String] = [:]
        for case (let name, let secret as [String: String]) in compose["secrets"] as? [String: Any] ?? [:] {
            let file = Self.docker.appendingPathComponent(secret["file"] ?? "").path
            #expect(FileManager.default.fileExists(atPath: file))
            secretFiles["/run/secrets/\(name)"] = file
        }
        let build = services["covata-mock"]?["build"] as? [String: String]
        let context = Self.docker.appendingPathComponent(build?["context"] ?? "")
        #expect(FileManager.default.fileExists(atPath: context.appendingPathComponent(build?["dockerfile"] ?? "").path))
        let test = (services["covata-proxy"]?["healthcheck"] as? [String: Any])?["test"] as? [String]
        #expect(test?.contains("health") == true)
        // The compose proxy.json is a valid config whose secrets are the compose secrets' files.
        var text = try String(contentsOf: Self.docker.appendingPathComponent("compose/proxy.json"), encoding: .utf8)
        for (mounted, file) in secretFiles { text = text.replacingOccurrences(of: mounted, with: file) }
        let config = try ProxyConfig.parse(
            Data(text.utf8), environment: [:], baseDirectory: Self.docker.appendingPathComponent("compose").path)
        #expect(config.admin?.listen == .tcp(host: "127.0.0.1", port: 9901))
        #expect(Set(config.secretFiles.map(\.keyPath)) == ["oauth.clientSecret", "oauth.password"])
    }

    /// The manifests validate against Kubernetes' schemas, and the sidecar is native, probed with covata-proxy
    /// itself, reads secrets and config from mounted folders (so rotation reaches it) and keeps its state writable.
    @Test func kubernetesSidecarIsNativeAndPicksUpRotatedSecrets() async throws {
        let validator = try Self.venvTool("kubernetes-validate")
        for file in ["covata-proxy.yaml", "secret.example.yaml"] {
            let manifest = Self.docker.appendingPathComponent("kubernetes/\(file)").path
            let validated = try await Shell.run("'\(validator)' --strict --quiet '\(manifest)' 2>&1; echo \"exit $?\"")
            #expect(validated.hasSuffix("exit 0"), "\(validated)")
        }

        let documents = try await Self.yaml("kubernetes/covata-proxy.yaml")
        let configMap = try #require(documents.first { $0["kind"] as? String == "ConfigMap" })
        let proxyJSON = try #require((configMap["data"] as? [String: String])?["proxy.json"])
        // Issue #30: the example Secret lives apart, so applying the workloads never overwrites the real one.
        #expect(!documents.contains { $0["kind"] as? String == "Secret" })
        let secret = try #require(
            try await Self.yaml("kubernetes/secret.example.yaml").first { $0["kind"] as? String == "Secret" })
        let secretKeys = Set((secret["stringData"] as? [String: String] ?? [:]).keys)
        let workloads = documents.filter { ["Deployment", "Job"].contains($0["kind"] as? String) }
        #expect(Set(workloads.compactMap { $0["kind"] as? String }) == ["Deployment", "Job"])
        for workload in workloads {
            let template = (workload["spec"] as? [String: Any])?["template"] as? [String: Any]
            let spec = try #require(template?["spec"] as? [String: Any])
            let proxy = try #require(
                (spec["initContainers"] as? [[String: Any]])?.first { $0["name"] as? String == "covata-proxy" })
            #expect(proxy["restartPolicy"] as? String == "Always", "a native sidecar")
            #expect((proxy["image"] as? String)?.hasSuffix("/covata-proxy:\(BuildInfo.version)") == true)
            #expect(proxy["env"] == nil, "secrets through files, not the environment")
            let mounts = proxy["volumeMounts"] as? [[String: Any]] ?? []
            #expect(!mounts.contains { $0["subPath"] != nil }, "subPath mounts never see updates")
            let mountPath = { (name: String) in mounts.first { $0["name"] as? String == name }?["mountPath"] as? String
            }
            let volumes = spec["volumes"] as? [[String: Any]] ?? []
            let volume = { (name: String) in volumes.first { $0["name"] as? String == name } }
            #expect(volume("config")?["configMap"] != nil)
            #expect(volume("secrets")?["secret"] != nil)
            #expect(volume("state")?["emptyDir"] != nil)
            #expect((proxy["securityContext"] as? [String: Any])?["readOnlyRootFilesystem"] as? Bool == true)

            // The config the sidecar runs: its secrets are files in the mounted Secret, its state in the volume.
            let secretsFolder = try #require(mountPath("secrets"))
            let files = FileManager.default.temporaryDirectory.appendingPathComponent("k8s-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: files) }
            for key in secretKeys {
                try "x".write(to: files.appendingPathComponent(key), atomically: true, encoding: .utf8)
            }
            let stateFolder = try #require(mountPath("state"))
            let localized = proxyJSON.replacingOccurrences(of: secretsFolder, with: files.path)
                .replacingOccurrences(of: stateFolder, with: files.path)
            let config = try ProxyConfig.parse(Data(localized.utf8), environment: [:])
            #expect(config.secretFiles.count == 2)
            #expect(config.oauth.stateFile?.path.hasPrefix(files.path + "/") == true)

            let args = proxy["args"] as? [String] ?? []
            let configPath = try #require(args.last)
            #expect(configPath.hasPrefix(try #require(mountPath("config")) + "/"))
            // Every probe runs covata-proxy inside the container: the kubelet's httpGet comes from the node, whose
            // 127.0.0.1 is not the pod's. Alive for startup and liveness (rejected credentials never restart it into
            // another password attempt), ready (a token) for readiness.
            let probe = { (name: String) in
                ((proxy[name] as? [String: Any])?["exec"] as? [String: Any])?["command"] as? [String]
            }
            let health = ["/usr/local/bin/covata-proxy", "health"]
            #expect(probe("startupProbe") == health + ["--live", "--config", configPath])
            #expect(probe("livenessProbe") == health + ["--live", "--config", configPath])
            #expect(probe("readinessProbe") == health + ["--config", configPath])
            #expect(
                !["startupProbe", "livenessProbe", "readinessProbe"].contains {
                    (proxy[$0] as? [String: Any])?["httpGet"] != nil
                })
            #expect(config.admin != nil)
            // The proxy's user is its container's, not the pod's: the tool's container runs as its image says.
            let podSecurity = spec["securityContext"] as? [String: Any] ?? [:]
            #expect(podSecurity["runAsUser"] == nil && podSecurity["runAsGroup"] == nil)
            let proxySecurity = proxy["securityContext"] as? [String: Any] ?? [:]
            #expect(proxySecurity["runAsUser"] != nil)
            // Secrets 0440 with the fsGroup the proxy's own group: readable by it, and nothing to warn about.
            #expect(podSecurity["fsGroup"] as? Int == proxySecurity["runAsGroup"] as? Int)
            let resources = proxy["resources"] as? [String: [String: String]]
            #expect(resources?["requests"]?["memory"] != nil && resources?["limits"]?["memory"] != nil)
        }
    }

    @Test func adminPathsUsedByTheProbesAreServed() async throws {
        try await ProxyHarness.with { (harness: ProxyHarness) async throws in
            for path in Self.adminPaths {
                let response = try await RawHTTPClient.get(port: harness.adminPort, path)
                #expect(response.status != 404, "\(path)")
            }
        }
    }
}
