import CurlClient
import Foundation
import TestSupport

/// Runs a shell pipeline (for curl, sha256sum and python3 as real clients) and returns its trimmed output.
enum Shell {
    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    /// Waits on a thread of its own, never on one of Swift's cooperative threads: a test blocking those could
    /// starve the in-process proxy it is talking to.
    @discardableResult
    static func run(_ script: String) async throws -> String {
        try await offThePool { try runBlocking(script) }
    }

    /// Runs blocking work on a new thread and resumes with its result.
    static func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Runs a program to completion; its exit status and what it printed on stdout (stderr is dropped).
    static func runProgram(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let output = temporaryFile("out")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let child = try ChildProcess(
            executable: executable, arguments: arguments, environment: ProcessInfo.processInfo.environment,
            outputPath: output, errorPath: "/dev/null")
        let status = child.wait()
        return (status, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    /// A fresh path in the temporary folder (the file is not created).
    static func temporaryFile(_ prefix: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    }

    private static func runBlocking(_ script: String) throws -> String {
        let (status, output) = try runProgram("/bin/bash", ["-c", "set -o pipefail; " + script])
        guard status == 0 else { throw Failed(description: "exit \(status): \(script)") }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
