// swift-tools-version:6.0
import PackageDescription

#if canImport(Glibc)
    import Glibc
#endif

/// glibc's loader takes packed relative relocations (DT_RELR) from 2.36 on, and lld marks a binary that has them
/// as needing that glibc: they are asked for only when the glibc built against (this host's) is that new, so a
/// build on an older system (Ubuntu 22.04, RHEL 9) still runs where it was built.
let packedRelocations: [String] = {
    #if canImport(Glibc)
        var text = [CChar](repeating: 0, count: 64)
        guard confstr(Int32(_CS_GNU_LIBC_VERSION), &text, text.count) > 0 else { return [] }
        let bytes = text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let version = String(decoding: bytes, as: UTF8.self).split(separator: " ").last?.split(separator: ".")
            .compactMap { Int($0) }
        guard let version, version.count >= 2, (version[0], version[1]) >= (2, 36) else { return [] }
        return ["-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"]
    #else
        return []
    #endif
}()

let package = Package(
    name: "covata-proxy",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "covata-proxy", targets: ["covata-proxy"]),
        .executable(name: "covata-mock", targets: ["covata-mock"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // libcurl's headers and link flags via pkg-config; the shim gives typed, non-variadic entry points.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // glibc's heap statistics and trim (not in its Swift module map); only ProxySupport imports it.
        .systemLibrary(name: "CMalloc"),
        // Small helpers the modules below use: ASCII-case compares and word-at-a-time tests on bytes, a writer into
        // memory sized beforehand, the durable state-file write and the process heap's trim.
        .target(name: "ProxySupport", dependencies: ["CMalloc"]),
        // The only module that imports CCurl.
        .target(
            name: "CurlClient",
            dependencies: [
                "CCurl",
                "ProxySupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The log line writer, access records, metrics and the runtime switches: below everything else, which reaches
        // it through `package` declarations only.
        .target(
            name: "ProxyObservability",
            dependencies: [
                "CurlClient",
                "ProxySupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // proxy.json: parsed into typed values, secrets, file trust. Below the rest, which reaches its internals
        // through `package` declarations only.
        .target(
            name: "ProxyConfiguration",
            dependencies: [
                "ProxySupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Token lifecycle, listeners and forwarding: everything the executable runs.
        .target(
            name: "CovataProxy",
            dependencies: [
                "ProxyConfiguration",
                "ProxyObservability",
                "CurlClient",
                "ProxySupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                // AES-GCM for the encrypted token state file, SHA-256 for PKCE.
                .product(name: "Crypto", package: "swift-crypto"),
                // The runtime, the token manager and the log writer as services of one ServiceGroup.
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // A local stand-in for the Covata Platform, used by `make run` and the tests.
        .target(
            name: "CovataMock",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                // SHA-256 for upload digests and PKCE, HMAC for the JWTs it issues.
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // Optimised even in debug builds: it hashes and generates hundreds of MiB in the streaming tests.
            swiftSettings: [.unsafeFlags(["-O"])]
        ),
        .executableTarget(
            name: "covata-proxy",
            dependencies: [
                "CovataProxy",
                "ProxyConfiguration",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            // Linked by lld with packed relative relocations (where glibc takes them, above) and without exporting
            // every symbol (the static Swift runtime's default): the loader read 2.3 MB of relocations and 1.7 MB of
            // dynamic symbols at each start, 3 MiB of an idle proxy's 35 MiB.
            linkerSettings: [
                .unsafeFlags(
                    ["-use-ld=lld", "-Xlinker", "--no-export-dynamic"] + packedRelocations, .when(platforms: [.linux]))
            ]
        ),
        .executableTarget(
            name: "covata-mock",
            dependencies: [
                "CovataMock",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test-only: a child-process runner (Foundation's Process crashes now and then with many descriptors open)
        // and the one C declaration it needs. Never linked into the products.
        .target(name: "CSpawn", path: "Tests/CSpawn"),
        .target(name: "TestSupport", dependencies: ["CSpawn"], path: "Tests/TestSupport"),
        // Fuzzing (Tests/Fuzz): a harness per parser and machine, run by libFuzzer through `covata-fuzz` (built by
        // Tests/Fuzz/run with -DFUZZING and the fuzzer sanitizer) and replayed from the corpora by the tests.
        .target(
            name: "FuzzHarnesses",
            dependencies: [
                "CovataProxy",
                "ProxyConfiguration",
                "CurlClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/Fuzz/Harnesses"
        ),
        .executableTarget(name: "covata-fuzz", dependencies: ["FuzzHarnesses"], path: "Tests/Fuzz/Driver"),
        .testTarget(
            name: "CovataProxyTests",
            dependencies: [
                "CovataProxy",
                "FuzzHarnesses",
                "CovataMock",
                "CurlClient",
                "ProxyConfiguration",
                "ProxySupport",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            exclude: ["Fixtures"]
        ),
    ]
)
