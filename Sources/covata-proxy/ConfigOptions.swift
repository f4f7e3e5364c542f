import ArgumentParser
import CovataProxy
import Foundation

/// Options every subcommand shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Path to proxy.json.")
    var config = "proxy.json"

    @Option(name: .long, help: "Log level, overriding log.level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    /// Loads and validates the config; a bad one prints one line naming the key and exits with status 2.
    func load() throws -> ProxyConfig {
        do {
            var loaded = try ProxyConfig.load(path: config)
            if let logLevel {
                guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
                    throw ConfigError("--log-level", "expected trace, debug, info, notice, warning, error or critical")
                }
                loaded.log.level = logLevel
            }
            return loaded
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("covata-proxy: \(config): \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
