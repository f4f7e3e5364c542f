import Foundation

/// The state file's AES-256 key. Like `Secret`, it never prints.
public struct StateKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let bytes: [UInt8]

    /// Accepts base64 of exactly 32 bytes, what `openssl rand -base64 32` prints.
    init(base64 secret: Secret, keyPath: String) throws(ConfigError) {
        guard let data = Data(base64Encoded: secret.value.trimmingCharacters(in: .whitespaces)), data.count == 32
        else {
            throw ConfigError(keyPath, "expected base64 of 32 random bytes (create one with: openssl rand -base64 32)")
        }
        self.bytes = Array(data)
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
