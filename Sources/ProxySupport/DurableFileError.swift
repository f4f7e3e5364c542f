#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
