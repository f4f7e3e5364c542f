import CurlClient
import Foundation
import TestSupport

/// Runs one of the package's executables (built next to the test bundle) and captures what it prints.
struct ProductBinary {
    let url: URL

    init(_ name: String) {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            name)
        if FileManager.default.isExecutableFile(atPath: beside.path) {
            url = beside
        } else {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent()
            url = root.appendingPathComponent(".build/debug/\(name)")
        }
    }

    /// Any program, run the same way (a wrapper such as prlimit around one of ours).
    init(executable: URL) {
        url = executable
    }

    /// A started process whose stdout and stderr go to one file.
    final class Running: Sendable {
        let child: ChildProcess
        let output: URL

        init(child: ChildProcess, output: URL) {
            self.child = child
            self.output = output
        }

        var pid: Int32 { child.pid }

        var printed: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

        /// Sends SIGTERM and waits for the exit status (idempotent).
        func stop() -> Int32 {
            child.signal(SIGTERM)
            return child.wait()
        }

        /// Waits for the exit status off Swift's cooperative threads.
        func exitStatus() async throws -> Int32 {
            try await Shell.offThePool { self.child.wait() }
        }
    }

    /// - Parameter input: what the process reads on stdin (default: nothing, end of input at once).
    func start(_ arguments: [String], environment: [String: String] = [:], input: Pipe? = nil) throws -> Running {
        let output = URL(fileURLWithPath: Shell.temporaryFile("out") + ".log")
        let child = try ChildProcess(
            executable: url.path, arguments: arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
            stdinDescriptor: input?.fileHandleForReading.fileDescriptor, outputPath: output.path)
        return Running(child: child, output: output)
    }

    /// Runs to completion (waiting off Swift's cooperative threads); returns exit status and everything printed.
    func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (
        status: Int32, printed: String
    ) {
        let running = try start(arguments, environment: environment)
        let status = try await running.exitStatus()
        return (status, running.printed)
    }

    struct NoListeningLine: Error {}

    /// The port from the proxy's "listening" log line (configs here bind port 0).
    static func listeningPort(in printed: String) -> Int? {
        guard let range = printed.range(of: #""address":"127.0.0.1:"#) else { return nil }
        return Int(printed[range.upperBound...].prefix { $0.isNumber })
    }

    /// Runs `covata-proxy run --config config`, waits for its route listener, hands `body` the process and the
    /// route's port, and stops the process afterwards whatever happens.
    static func withProxy<T>(
        config: URL, environment: [String: String], _ body: (Running, Int) async throws -> T
    ) async throws -> T {
        let proxy = try ProductBinary("covata-proxy").start(["run", "--config", config.path], environment: environment)
        defer { _ = proxy.stop() }
        var port = 0
        guard
            await eventually({
                port = listeningPort(in: proxy.printed) ?? 0
                return port != 0
            })
        else {
            throw NoListeningLine()
        }
        return try await body(proxy, port)
    }
}
