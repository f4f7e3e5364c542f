#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSpawn
import Synchronization

/// A child process started with `posix_spawn`, for the test suite. Foundation's `Process.run()` in Swift 6.3.1
/// over-reads `/proc/self/fd` entries and crashes now and then in a process with many descriptors open
/// (swift-corelibs-foundation PR #5472), which the test process always is; this one reads nothing of the kind.
package final class ChildProcess: Sendable {
    package let pid: pid_t
    private let exitStatus = Mutex<Int32?>(nil)

    /// Starts `executable` with `arguments` and exactly `environment`; stdin from `stdinDescriptor` (or
    /// /dev/null), stdout appended to `outputPath` and stderr to `errorPath` (or with stdout). Signals start
    /// unblocked and with default actions.
    package init(
        executable: String, arguments: [String], environment: [String: String], stdinDescriptor: Int32? = nil,
        outputPath: String, errorPath: String? = nil
    ) throws(ChildProcessError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdinDescriptor {
            posix_spawn_file_actions_adddup2(&actions, stdinDescriptor, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let errorPath {
            posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // Nothing else the test process has open (other tests' sockets among them) may leak into the child: a
        // leaked copy keeps a connection open after its owner closes it.
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child: pid_t = 0
        let result = posix_spawnp(&child, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw ChildProcessError(executable: executable, errno: result) }
        pid = child
    }

    /// Blocks until the process exits; its exit status, or 128 + the signal that ended it.
    package func wait() -> Int32 {
        while true {
            if let status = poll() { return status }
            usleep(2000)
        }
    }

    package var isRunning: Bool { poll() == nil }

    package func signal(_ number: Int32) {
        if isRunning { kill(pid, number) }
    }

    /// Reaps the child without blocking, once; every caller sees the same status afterwards.
    private func poll() -> Int32? {
        exitStatus.withLock { status in
            if let status { return status }
            var raw: Int32 = 0
            guard waitpid(pid, &raw, WNOHANG) == pid else { return nil }
            status = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
            return status
        }
    }
}

/// A child process that could not be started.
package struct ChildProcessError: Error, CustomStringConvertible {
    package var executable: String
    package var errno: Int32
    package var description: String { "cannot start \(executable): errno \(errno)" }
}
