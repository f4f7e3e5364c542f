import ArgumentParser

/// Validates proxy.json exactly as `run` does, without starting anything.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate proxy.json and its secrets, then exit.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        print("configuration OK: \(config.routes.count) route(s)")
        for route in config.routes { print("  \(route.listen) -> \(route.upstream)") }
        for source in config.secretFiles {
            if let problem = source.exposure() { print("warning: \(source.keyPath): \(problem)") }
        }
    }
}
