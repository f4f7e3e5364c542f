import ArgumentParser
import CovataProxy
import Foundation
import Logging
import ProxyConfiguration

/// Options every subcommand shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Path to proxy.json.")
    var config = "proxy.json"

    @Option(name: .long, help: "Log level, overriding log.level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Where {\"credential\": NAME} secrets are, outside the systemd unit (which sets $CREDENTIALS_DIRECTORY): "
                + "for the Debian package, /etc/covata-proxy/credentials.",
            valueName: "folder"))
    var credentialsDirectory: String?

    /// `--log-level`, parsed; nil when not given.
    func overridingLevel() throws(ConfigError) -> Logger.Level? {
        guard let logLevel else { return nil }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ConfigError("--log-level", "expected one of \(LogConfig.levelNames)")
        }
        return level
    }

    /// Loads and validates the config; a bad one prints one line naming the key and exits with status 2.
    func load() throws -> ProxyConfig {
        do throws(ConfigError) {
            var environment = ProcessInfo.processInfo.environment
            if let credentialsDirectory { environment["CREDENTIALS_DIRECTORY"] = credentialsDirectory }
            var loaded = try ProxyConfig.load(path: config, environment: environment)
            if let level = try overridingLevel() { loaded.log.level = level }
            return loaded
        } catch {
            FileHandle.standardError.write(Data("covata-proxy: \(config): \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
