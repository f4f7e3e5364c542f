import Foundation

/// A credential value that never prints itself: not in logs, errors, `dump` or crash output.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let value: String

    public init(_ value: String) { self.value = value }

    /// Reads a secret file, trimming one trailing newline (what `echo` and most editors add).
    init(file: String, keyPath: String) throws(ConfigError) {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError(keyPath, "cannot read secret file \(file): \(ProxyConfig.whyUnreadable(file))")
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

    /// Why a literal secret looks like a mistake (`"password.txt"`, `"env:COVATA_SECRET"`), naming the form that
    /// was probably meant; nil for anything else. It is still used as given: a password may look like anything.
    static func literalHint(_ literal: String) -> String? {
        // The value itself is never repeated: it may be the real secret after all.
        if looksLikeVariableReference(literal) {
            return "the literal value looks like an environment variable reference; it is used as the secret itself. "
                + "Did you mean {\"env\": \"NAME\"}?"
        }
        let pathLike =
            ["/", "./", "../", "~/", "file:"].contains { literal.hasPrefix($0) }
            || looksLikeSecretFileName(literal)
        guard pathLike else { return nil }
        return "the literal value looks like a file path; it is used as the secret itself. "
            + "Did you mean {\"file\": \"PATH\"}?"
    }

    // Both by hand rather than with a regex literal: a regex is compiled when first used, and this one ran at every
    // start, pulling the regex engine's code (~0.5 MiB of pages) into an idle proxy's memory.

    /// `env:NAME`, `$NAME` or `${NAME}` (either brace optional), NAME a shell variable's name.
    private static func looksLikeVariableReference(_ literal: String) -> Bool {
        var name = literal.utf8[...]
        if name.starts(with: "env:".utf8) {
            name = name.dropFirst(4)
        } else if name.first == UInt8(ascii: "$") {
            name = name.dropFirst()
            if name.first == UInt8(ascii: "{") { name = name.dropFirst() }
        } else {
            return false
        }
        if name.last == UInt8(ascii: "}") { name = name.dropLast() }
        let letter = { (byte: UInt8) in byte == UInt8(ascii: "_") || (0x61...0x7A).contains(byte | 0x20) }
        guard let first = name.first, letter(first) else { return false }
        return name.allSatisfy { letter($0) || (0x30...0x39).contains($0) }
    }

    /// A bare file name with a secret's usual extension: `password.txt`, `client-secret.key`.
    private static func looksLikeSecretFileName(_ literal: String) -> Bool {
        guard let dot = literal.lastIndex(of: "."), dot != literal.startIndex,
            ["txt", "key", "pem", "secret", "pass", "password", "pw"].contains(literal[literal.index(after: dot)...])
        else { return false }
        return literal.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" }
    }
}

/// A secret read from a file: which key, which file.
public struct SecretFileSource: Sendable, Equatable {
    public var keyPath: String
    public var path: String
    /// `{"credential": NAME}`: a copy systemd made when the service started (`LoadCredential=`).
    public var fromSystemdCredential = false

    /// Why others may learn this secret, or nil. Not refused, only warned about: Kubernetes mounts secrets 0644 and
    /// owned by root unless told otherwise. A symlink is judged by what it points to (Kubernetes' `..data` links).
    public func exposure() -> String? {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: target) else { return nil }
        let mode = attributes.mode
        // Readable by its group is fine when that group is the proxy's own (Kubernetes: fsGroup = runAsGroup).
        let group = (attributes[.groupOwnerAccountID] as? NSNumber)?.intValue
        let ownGroup = group != nil && group == Self.effectiveGroupID()
        if mode & 0o004 != 0 || (mode & 0o040 != 0 && !ownGroup) {
            return "\(path) is readable by \(mode & 0o004 != 0 ? "every user" : "its group \(group ?? -1)") (mode "
                + "\(String(mode, radix: 8))); chmod 600 it, or in Kubernetes mount it with defaultMode 0440 and the "
                + "pod's fsGroup set to the proxy's group (runAsGroup)"
        }
        if let owner = (attributes[.ownerAccountID] as? NSNumber)?.intValue,
            let user = StateFileConfig.effectiveUserID(), owner != user
        {
            return "\(path) is owned by user \(owner), not by the proxy's user \(user)"
        }
        return nil
    }

    /// The process's effective group, from /proc/self/status (`Gid:` real, effective, saved, file system).
    static func effectiveGroupID() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Gid:") })
        else { return nil }
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        return fields.count > 2 ? Int(fields[2]) : nil
    }
}

/// A secret codes as its plain string: only the token state file is written this way, never a log or an answer.
extension Secret: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

extension [FileAttributeKey: Any] {
    /// The permission bits (with the sticky bit); rwx for all when Foundation reports none, so a file whose mode
    /// cannot be read is never taken for a private one.
    var mode: Int { (self[.posixPermissions] as? NSNumber)?.intValue ?? 0o777 }
}
