import Foundation

/// A configuration problem: which key, and what was expected. Never carries a secret's value.
public struct ConfigError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The key path, such as `oauth.clientSecret` or `routes[1].listen`; empty for the whole file.
    public var keyPath: String
    public var message: String

    public init(_ keyPath: String, _ message: String) {
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        keyPath.isEmpty ? "invalid configuration: \(message)" : "invalid configuration at \(keyPath): \(message)"
    }
}

/// Reads one JSON object of the config, tracking its key path for errors and refusing keys it does not know.
struct ConfigReader {
    let path: String
    private let members: [String: JSONValue]
    private let environment: [String: String]
    /// Relative file paths in the config are relative to the config file's folder.
    let baseDirectory: String
    /// Every secret read from a file, shared by the readers of one document.
    let secretFiles: SecretFiles

    /// Where the secrets read from files came from, in reading order.
    final class SecretFiles {
        var sources: [SecretFileSource] = []
        /// Literal secrets that look like something else (see `Secret.literalHint`), with their keys.
        var hints: [String] = []
    }

    init(
        value: JSONValue, path: String, environment: [String: String], baseDirectory: String,
        secretFiles: SecretFiles = SecretFiles()
    ) throws(ConfigError) {
        guard case .object(let members) = value else {
            throw ConfigError(path, "expected an object, found \(value.typeName)")
        }
        self.path = path
        self.members = members
        self.environment = environment
        self.baseDirectory = baseDirectory
        self.secretFiles = secretFiles
    }

    /// A file path from the config, made absolute against the config file's folder.
    func resolvePath(_ path: String) -> String {
        path.hasPrefix("/") ? path : (baseDirectory as NSString).appendingPathComponent(path)
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Every key must be one of `known`: a typo is an error, not a silently ignored setting.
    func rejectUnknownKeys(_ known: Set<String>) throws(ConfigError) {
        if let unknown = members.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigError(
                keyPath(unknown), "unknown key (expected one of: \(known.sorted().joined(separator: ", ")))")
        }
    }

    /// The value of `key`, with JSON null treated as absent.
    func value(_ key: String) -> JSONValue? {
        guard let value = members[key] else { return nil }
        if case .null = value { return nil }
        return value
    }

    func string(_ key: String) throws(ConfigError) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else {
            throw ConfigError(keyPath(key), "expected a string, found \(value.typeName)")
        }
        guard !text.isEmpty else { throw ConfigError(keyPath(key), "expected a non-empty string") }
        return text
    }

    func requiredString(_ key: String) throws(ConfigError) -> String {
        guard let text = try string(key) else { throw ConfigError(keyPath(key), "required string is missing") }
        return text
    }

    func bool(_ key: String, default fallback: Bool) throws(ConfigError) -> Bool {
        guard let value = value(key) else { return fallback }
        guard case .bool(let flag) = value else {
            throw ConfigError(keyPath(key), "expected true or false, found \(value.typeName)")
        }
        return flag
    }

    /// A number within `range` (seconds, bytes or a count).
    func seconds(_ key: String, default fallback: Double, range: ClosedRange<Double>) throws(ConfigError) -> Double {
        guard let value = value(key) else { return fallback }
        guard case .number(let number) = value else {
            throw ConfigError(keyPath(key), "expected a number, found \(value.typeName)")
        }
        guard range.contains(number) else {
            throw ConfigError(keyPath(key), "expected a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    func object(_ key: String) throws(ConfigError) -> ConfigReader? {
        guard let value = value(key) else { return nil }
        return try child(value, path: keyPath(key))
    }

    func array(_ key: String) throws(ConfigError) -> [JSONValue]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else {
            throw ConfigError(keyPath(key), "expected an array, found \(value.typeName)")
        }
        return items
    }

    func child(_ value: JSONValue, path: String) throws(ConfigError) -> ConfigReader {
        try ConfigReader(
            value: value, path: path, environment: environment, baseDirectory: baseDirectory, secretFiles: secretFiles)
    }

    /// A secret given as a literal, `{"env": "NAME"}` or `{"file": "PATH"}`, resolved now.
    func secret(_ key: String) throws(ConfigError) -> Secret {
        let path = keyPath(key)
        guard let value = value(key) else { throw ConfigError(path, "required secret is missing") }
        switch value {
        case .string(let literal) where !literal.isEmpty:
            if let hint = Secret.literalHint(literal) { secretFiles.hints.append("\(path): \(hint)") }
            return Secret(literal)
        case .object:
            let source = try child(value, path: path)
            try source.rejectUnknownKeys(["env", "file", "credential"])
            if let name = try source.string("env") {
                guard let resolved = environment[name], !resolved.isEmpty else {
                    throw ConfigError(path, "environment variable \(name) is not set or empty")
                }
                return Secret(resolved)
            }
            if let file = try source.string("file") {
                let resolved = resolvePath(file)
                secretFiles.sources.append(SecretFileSource(keyPath: path, path: resolved))
                if let problem = FileTrust.fileProblem(resolved) { throw ConfigError(path, problem) }
                return try Secret(file: resolved, keyPath: path)
            }
            if let name = try source.string("credential") {
                // systemd's LoadCredential= puts each one in $CREDENTIALS_DIRECTORY, readable by the service only.
                guard let folder = environment["CREDENTIALS_DIRECTORY"], !folder.isEmpty else {
                    throw ConfigError(
                        path,
                        "credential \(name): CREDENTIALS_DIRECTORY is not set (the unit needs "
                            + "LoadCredential=\(name):…; outside the unit, name the folder with --credentials-directory, "
                            + "for the Debian package /etc/covata-proxy/credentials)"
                    )
                }
                guard !name.isEmpty, !name.contains("/") else {
                    throw ConfigError(path, "expected a credential name without /")
                }
                let file = (folder as NSString).appendingPathComponent(name)
                secretFiles.sources.append(SecretFileSource(keyPath: path, path: file, fromSystemdCredential: true))
                if let problem = FileTrust.fileProblem(file) { throw ConfigError(path, problem) }
                return try Secret(file: file, keyPath: path)
            }
            throw ConfigError(path, "expected {\"env\": \"NAME\"}, {\"file\": \"PATH\"} or {\"credential\": \"NAME\"}")
        default:
            throw ConfigError(
                path, "expected a string, {\"env\": \"NAME\"}, {\"file\": \"PATH\"} or {\"credential\": \"NAME\"}")
        }
    }
}
