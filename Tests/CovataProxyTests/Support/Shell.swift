import Foundation
import Synchronization

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

    private static let launching = Mutex(())

    /// Starts a process, one at a time: Foundation's `Process.run()` has crashed here when several tests launched
    /// processes at the same moment.
    static func launch(_ process: Process) throws {
        try launching.withLock { _ in try process.run() }
    }

    private static func runBlocking(_ script: String) throws -> String {
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "set -o pipefail; " + script]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try launch(process)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failed(description: "exit \(process.terminationStatus): \(script)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
