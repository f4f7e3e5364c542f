import ProxyObservability
import CovataMock
import CurlClient
import Foundation
import TestSupport
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// The VM install path: the Debian package, its systemd unit, systemd credentials and the notify protocol.
@Suite struct PackagingTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `make deb` builds the release binary; here the package is built around the test build (same script, seconds
    /// instead of minutes), unpacked with dpkg-deb and run from where it unpacked.
    @Test func debianPackageHasTheBinaryTheUnitAndAConffile() async throws {
        let out = Shell.temporaryFile("deb")
        let bin = ProductBinary("covata-proxy").url.deletingLastPathComponent().path
        let package = try await Shell.run("'\(Self.root.path)/packaging/build-deb' --bin '\(bin)' --out '\(out)'")
        #expect(package.hasSuffix(".deb"))
        let control = try await Shell.run("dpkg-deb -f '\(package)' Package Version Depends")
        #expect(control.contains("Package: covata-proxy"))
        #expect(control.contains("Version: \(BuildInfo.version)"))
        #expect(control.contains("Depends: ") && control.contains("libcurl4 (>= "))
        let conffiles = try await Shell.run("dpkg-deb --ctrl-tarfile '\(package)' | tar -xO ./conffiles")
        #expect(conffiles == "/etc/covata-proxy/proxy.json")

        let unpacked = Shell.temporaryFile("unpacked")
        try await Shell.run("dpkg-deb -x '\(package)' '\(unpacked)'")
        let binary = "\(unpacked)/usr/bin/covata-proxy"
        #expect(try await Shell.run("'\(binary)' --version").hasPrefix("covata-proxy \(BuildInfo.version)"))

        // The default config is valid once the credentials systemd would load are there.
        let credentials = Shell.temporaryFile("credentials")
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        for name in ["client-secret", "password"] {
            try "example\n".write(toFile: "\(credentials)/\(name)", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: "\(credentials)/\(name)")
        }
        let checked = try await Shell.run(
            "CREDENTIALS_DIRECTORY='\(credentials)' '\(binary)' check-config --config '\(unpacked)/etc/covata-proxy/proxy.json'"
        )
        #expect(checked.hasPrefix("configuration OK"), "\(checked)")

        // The unit: the keys that make it a hardened notify service, and systemd's own verdict.
        let unitPath = "\(unpacked)/lib/systemd/system/covata-proxy.service"
        let unit = try String(contentsOfFile: unitPath, encoding: .utf8)
        for key in [
            "Type=notify", "ExecStart=/usr/bin/covata-proxy run --config /etc/covata-proxy/proxy.json",
            "ExecReload=/bin/kill -HUP $MAINPID", "DynamicUser=yes", "StateDirectory=covata-proxy",
            "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "CapabilityBoundingSet=\n",
            "SystemCallFilter=@system-service", "LoadCredential=client-secret:", "LoadCredential=password:",
        ] {
            #expect(unit.contains(key), "\(key)")
        }
        let local = "\(unpacked)/covata-proxy.service"
        try unit.replacingOccurrences(of: "/usr/bin/covata-proxy", with: binary)
            .write(toFile: local, atomically: true, encoding: .utf8)
        let verified = try await Shell.run("systemd-analyze verify --man=no '\(local)' 2>&1; echo \"exit $?\"")
        #expect(verified.hasSuffix("exit 0"), "\(verified)")

        // Issue #30: a clean package. lintian finds nothing (the test build's RUNPATH into the toolchain is this
        // test's: `make deb` links the Swift runtime in); the binary is stripped; Depends come from dpkg-shlibdeps.
        let lintian = try await Shell.run(
            "lintian --tag-display-limit 0 --fail-on error,warning --suppress-tags custom-library-search-path "
                + "'\(package)' 2>&1 | grep -v 'root privileges'; echo \"exit ${PIPESTATUS[0]}\"")
        #expect(lintian.hasSuffix("exit 0"), "\(lintian)")
        let symbols = try await Shell.run("readelf -S '\(binary)' | grep -c ' .symtab' || true")
        #expect(symbols == "0", "the packaged binary is not stripped")
        let depends = try await Shell.run("dpkg-deb -f '\(package)' Depends")
        #expect(depends.contains("libc6 (>= ") && depends.contains("libcurl4") && depends.contains("ca-certificates"))
        // Packed relocations (linked where the build host's glibc is 2.36 or newer, as here) load from glibc 2.36 on;
        // dpkg-shlibdeps alone said 2.34-2.35, which would let the package install where the loader refuses it.
        if try await Shell.run("objdump -p '\(binary)' | grep -c GLIBC_ABI_DT_RELR || true") != "0" {
            #expect(depends.contains("libc6 (>= 2.36)"), "\(depends)")
        }
        #expect(try await Shell.run("dpkg-deb -c '\(package)'").contains("./usr/share/doc/covata-proxy/copyright"))

        // Purge leaves nothing that could sign in: the maintainer script, run against a stand-in file system.
        let system = Shell.temporaryFile("system")
        for folder in ["etc/covata-proxy/credentials", "var/lib/private/covata-proxy", "var/lib/covata-proxy"] {
            try FileManager.default.createDirectory(atPath: "\(system)/\(folder)", withIntermediateDirectories: true)
        }
        try "secret".write(toFile: "\(system)/etc/covata-proxy/credentials/password", atomically: true, encoding: .utf8)
        try "{}".write(toFile: "\(system)/var/lib/private/covata-proxy/token.json", atomically: true, encoding: .utf8)
        let postrm = try await Shell.run("dpkg-deb --ctrl-tarfile '\(package)' | tar -xO ./postrm")
        let standIn = postrm.replacingOccurrences(of: " /etc/", with: " \(system)/etc/")
            .replacingOccurrences(of: " /var/", with: " \(system)/var/")
            .replacingOccurrences(of: "/run/systemd/system", with: "\(system)/no-systemd")
            .replacingOccurrences(of: "command -v deb-systemd-helper", with: "false")
        try standIn.write(toFile: "\(system)/postrm", atomically: true, encoding: .utf8)
        _ = try await Shell.run("sh '\(system)/postrm' purge")
        for gone in ["etc/covata-proxy/credentials", "var/lib/private/covata-proxy", "var/lib/covata-proxy"] {
            #expect(!FileManager.default.fileExists(atPath: "\(system)/\(gone)"), "\(gone) survived a purge")
        }
    }

    /// Issue #26, 5: the unit gives the proxy more descriptors than the connections it accepts by default, with
    /// room for an upstream connection each.
    @Test func theUnitLeavesRoomAboveTheConnectionCap() throws {
        let unit = try String(
            contentsOf: Self.root.appendingPathComponent("packaging/covata-proxy.service"), encoding: .utf8)
        let line = try #require(unit.split(separator: "\n").first { $0.hasPrefix("LimitNOFILE=") })
        let limit = try #require(Int(line.dropFirst("LimitNOFILE=".count)))
        #expect(limit >= 2 * LimitsConfig.defaults.maxConnections + 64)
    }

    /// Issue #30: what `make run`, `make build` and `make deb` install needs no Python at all, so a stock Debian 12 or
    /// Ubuntu 24.04, whose system Python refuses pip (externally managed), builds and runs.
    @Test func buildDependenciesNeedNoPython() async throws {
        let stubs = Shell.temporaryFile("stubs")
        try FileManager.default.createDirectory(atPath: stubs, withIntermediateDirectories: true)
        for tool in ["python3", "pip", "pip3"] {
            let path = "\(stubs)/\(tool)"
            try "#!/bin/sh\necho 'error: externally-managed-environment' >&2\nexit 1\n".write(
                toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
        let out = try await Shell.run(
            "PATH='\(stubs):'\"$PATH\" '\(Self.root.path)/.ci/install-deps' 2>&1; echo \"exit $?\"")
        #expect(out.hasSuffix("exit 0"), "\(out)")
        #expect(!out.contains("externally-managed"))
    }

    /// A config whose password is the systemd credential `password`, and an empty credentials folder beside it.
    static func credentialConfig(mockPort: Int) throws -> (config: URL, credentials: URL) {
        let config = try CommandLineTests.writeConfig(
            mockPort: mockPort,
            signIn: #""username": "svc-legacy@example.com", "password": { "credential": "password" }"#)
        let credentials = config.deletingLastPathComponent().appendingPathComponent("credentials")
        try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
        return (config, credentials)
    }

    /// `{"credential": NAME}` reads `$CREDENTIALS_DIRECTORY/NAME`; without the variable or the file, one clear error.
    @Test func systemdCredentialsAreASecretSource() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let (config, folder) = try Self.credentialConfig(mockPort: mock.port)
        let credentials = folder.path
        let binary = ProductBinary("covata-proxy")
        var environment = CommandLineTests.secretEnvironment
        var (status, printed) = try await binary.run(["token", "--config", config.path], environment: environment)
        #expect(status == 2)
        #expect(printed.contains("oauth.password: credential password: CREDENTIALS_DIRECTORY is not set"), "\(printed)")
        environment["CREDENTIALS_DIRECTORY"] = credentials
        (status, printed) = try await binary.run(["token", "--config", config.path], environment: environment)
        #expect(status == 2)
        #expect(printed.contains("oauth.password: cannot read secret file \(credentials)/password: no such file"))
        try "\(MockSettings().password)\n".write(toFile: "\(credentials)/password", atomically: true, encoding: .utf8)
        (status, printed) = try await binary.run(["token", "--config", config.path], environment: environment)
        #expect(status == 0, "\(printed)")
        #expect(printed.contains("jti: "))

        // Issue #30: from a shell, outside the unit, the operator names the folder; the error says how.
        environment["CREDENTIALS_DIRECTORY"] = nil
        (status, printed) = try await binary.run(["check-config", "--config", config.path], environment: environment)
        #expect(status == 2)
        #expect(printed.contains("--credentials-directory"))
        (status, printed) = try await binary.run(
            ["check-config", "--config", config.path, "--credentials-directory", credentials], environment: environment)
        #expect(status == 0, "\(printed)")
    }

    /// Issue #30: a reload says which secrets changed; with systemd credentials that did not (they are copied when
    /// the service starts), it says a restart is what rotates them.
    @Test func aReloadSaysWhichSecretsChanged() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let (config, credentials) = try Self.credentialConfig(mockPort: mock.port)
        let password = credentials.appendingPathComponent("password")
        try "\(MockSettings().password)\n".write(to: password, atomically: true, encoding: .utf8)
        var environment = CommandLineTests.secretEnvironment
        environment["CREDENTIALS_DIRECTORY"] = credentials.path
        try await ProductBinary.withProxy(config: config, environment: environment) {
            (proxy: ProductBinary.Running, _: Int) async throws in
            kill(proxy.pid, SIGHUP)
            // Each waits for its own words: the output is read as it comes, so a line can be seen half written.
            #expect(await eventually { proxy.printed.contains(#""secrets_changed":[]"#) }, "\(proxy.printed)")
            #expect(await eventually { proxy.printed.contains("a rotated credential file takes effect on restart") })
            try "another password\n".write(to: password, atomically: true, encoding: .utf8)
            kill(proxy.pid, SIGHUP)
            #expect(await eventually { proxy.printed.contains(#""secrets_changed":["oauth.password"]"#) })
            #expect(!proxy.printed.contains("another password"))
        }
    }

    /// The notify protocol with a datagram socket standing in for systemd: READY=1 (with the token state) once a
    /// token is held, RELOADING=1 then READY=1 around a reload, STOPPING=1 on the way out.
    @Test func notifiesSystemdLikeATypeNotifyService() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try CommandLineTests.writeConfig(mockPort: mock.port)
        let socket = config.deletingLastPathComponent().appendingPathComponent("notify").path
        let received = Shell.temporaryFile("notify")
        let script = Shell.temporaryFile("notify") + ".py"
        try """
        import socket, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(sys.argv[1])
        print("bound", flush=True)
        while True:
            data = s.recv(4096).decode()
            print(data.replace("\\n", "|"), flush=True)
        """.write(toFile: script, atomically: true, encoding: .utf8)
        let systemd = try ChildProcess(
            executable: "/usr/bin/python3", arguments: [script, socket], environment: [:], stdinDescriptor: nil,
            outputPath: received)
        defer {
            systemd.signal(SIGTERM)
            _ = systemd.wait()
        }
        let seen = { (try? String(contentsOfFile: received, encoding: .utf8)) ?? "" }
        #expect(await eventually { seen().contains("bound") })
        var environment = CommandLineTests.secretEnvironment
        environment["NOTIFY_SOCKET"] = socket
        try await ProductBinary.withProxy(config: config, environment: environment) {
            (proxy: ProductBinary.Running, _: Int) async throws in
            #expect(await eventually { seen().contains("READY=1|STATUS=ready: token jti") }, "\(seen())")
            kill(proxy.pid, SIGHUP)
            #expect(await eventually { seen().contains("RELOADING=1\nREADY=1|STATUS=ready") }, "\(seen())")
            #expect(proxy.stop() == 0)
            #expect(await eventually { seen().contains("STOPPING=1") }, "\(seen())")
        }
    }
}
