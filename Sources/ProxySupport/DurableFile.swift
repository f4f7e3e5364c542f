#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Replaces a small private file so that a crash at any moment leaves either the old or the new content, never a
/// mix, and never a moment when the file is readable by others. System calls, because Foundation and NIO offer no
/// rename-over-existing with a chosen mode.
package enum DurableFile {
    /// Writes `bytes` to a new mode-0600 file next to `path`, flushes it to disk, renames it over `path` (atomic on
    /// POSIX), then flushes the folder so the rename itself survives a power cut.
    /// - Parameter stoppingAfter: for tests: stop after this many bytes and leave, as a crash would.
    package static func replace(
        path: String, with bytes: [UInt8], stoppingAfter: Int? = nil
    ) throws(DurableFileError) {
        let temporary = "\(path).tmp-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw DurableFileError(step: "create \(temporary)", errno: errno) }
        let limit = min(bytes.count, stoppingAfter ?? bytes.count)
        var written = 0
        while written < limit {
            // write(2) takes a pointer and a length.
            let result = bytes.withUnsafeBytes { raw in write(descriptor, raw.baseAddress! + written, limit - written) }
            if result < 0, errno == EINTR { continue }
            guard result > 0 else {
                let failure = DurableFileError(step: "write \(temporary)", errno: errno)
                close(descriptor)
                unlink(temporary)
                throw failure
            }
            written += result
        }
        if stoppingAfter != nil, limit < bytes.count {
            close(descriptor)
            throw DurableFileError(step: "write \(temporary) (stopped on purpose)", errno: 0)
        }
        guard fsync(descriptor) == 0 else {
            let failure = DurableFileError(step: "flush \(temporary)", errno: errno)
            close(descriptor)
            unlink(temporary)
            throw failure
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let failure = DurableFileError(step: "rename \(temporary) to \(path)", errno: errno)
            unlink(temporary)
            throw failure
        }
        syncFolder(of: path)
    }

    /// Best effort: some file systems refuse fsync on a folder, and the rename has happened either way.
    private static func syncFolder(of path: String) {
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let descriptor = open(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }
}

/// A step of `DurableFile.replace` failed; says which, and the system's reason.
package struct DurableFileError: Error, Sendable, CustomStringConvertible {
    package let step: String
    package let reason: String

    init(step: String, errno code: Int32) {
        self.step = step
        self.reason = code == 0 ? "interrupted" : String(cString: strerror(code))
    }

    package var description: String { "cannot \(step): \(reason)" }
}
