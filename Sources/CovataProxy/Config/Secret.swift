import Foundation

/// A credential value that never prints itself: not in logs, errors, `dump` or crash output.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let value: String

    public init(_ value: String) { self.value = value }

    /// Reads a secret file, trimming one trailing newline (what `echo` and most editors add).
    init(file: String, keyPath: String) throws(ConfigError) {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError(keyPath, "secret file \(file) does not exist or cannot be read")
        }
        var text = String(decoding: data, as: UTF8.self)
        if text.hasSuffix("\r\n") {
            text.removeLast(2)
        } else if text.hasSuffix("\n") {
            text.removeLast()
        }
        guard !text.isEmpty else { throw ConfigError(keyPath, "secret file \(file) is empty") }
        self.value = text
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
