import Crypto
import CurlClient
import Foundation
import ProxyConfiguration
import ProxySupport

/// Reads and writes the token state file: atomically, mode 0600, optionally sealed with AES-256-GCM.
/// Blocking file I/O: callers run it off the cooperative pool.
struct TokenStateFile: Sendable {
    /// What reading the file gave.
    enum Loaded: Sendable {
        case missing
        case state(TokenState)
        /// Corrupt, foreign or undecryptable: reported and ignored, never fatal.
        case unusable(reason: String)
        /// A symlink, readable by others or owned by someone else: possibly planted, never adopted.
        case unsafe(reason: String)
    }

    let path: String
    let key: StateKey?
    /// Binds the ciphertext to this file format, so a blob sealed for something else does not open.
    private static let associatedData = Array("covata-proxy token state v1".utf8)

    init(_ config: StateFileConfig) {
        self.path = config.path
        self.key = config.key
    }

    func load(removingLeftovers: Bool = false) -> Loaded {
        if removingLeftovers { removeLeftovers() }
        if let problem = StateFileConfig.fileProblem(path) { return .unsafe(reason: problem) }
        guard let data = FileManager.default.contents(atPath: path) else {
            return FileManager.default.fileExists(atPath: path) ? .unusable(reason: "cannot be read") : .missing
        }
        return decode(data)
    }

    /// The file's bytes read back: a state, or why not (a short reason holding no secret).
    func decode(_ data: Data) -> Loaded {
        guard let document = try? JSONDecoder().decode(TokenStateDocument.self, from: data),
            document.format == TokenStateDocument.formatName
        else { return .unusable(reason: "not a covata-proxy token state file") }
        guard document.version == 1 else { return .unusable(reason: "unknown version \(document.version)") }
        if let state = document.state { return .state(state) }
        guard document.encryption == "AES-256-GCM", let sealed = document.sealed.flatMap({ Data(base64Encoded: $0) })
        else { return .unusable(reason: "neither a state nor a sealed state") }
        guard let key else { return .unusable(reason: "it is encrypted and no oauth.stateKey is configured") }
        guard let box = try? AES.GCM.SealedBox(combined: sealed),
            let plain = try? AES.GCM.open(
                box, using: SymmetricKey(data: key.bytes), authenticating: Self.associatedData),
            let state = try? JSONDecoder().decode(TokenState.self, from: plain)
        else { return .unusable(reason: "it cannot be decrypted with the configured oauth.stateKey") }
        return .state(state)
    }

    /// - Returns: nil when written, else why not (a short reason holding no secret).
    func save(_ state: TokenState, stoppingAfter: Int? = nil) -> String? {
        guard let bytes = encode(state) else { return "cannot encode or encrypt the state" }
        let folder = (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: folder) {
            // Private from the start of its life as far as a folder can be: created, then narrowed before use.
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
                try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder)
            } catch {
                return "cannot create the folder \(folder)"
            }
        }
        do {
            try DurableFile.replace(path: path, with: bytes, stoppingAfter: stoppingAfter)
        } catch {
            return error.description
        }
        // Run as root by hand beside the service (`covata-proxy token` or `login` on a VM): the file goes to whoever
        // owns its folder, the service's user, who would refuse a file another user owns.
        let manager = FileManager.default
        if StateFileConfig.effectiveUserID() == 0,
            let attributes = try? manager.attributesOfItem(
                atPath: URL(fileURLWithPath: folder).resolvingSymlinksInPath().path),
            let owner = (attributes[.ownerAccountID] as? NSNumber)?.intValue, owner != 0
        {
            let group = (attributes[.groupOwnerAccountID] as? NSNumber)?.intValue ?? owner
            do {
                try manager.setAttributes([.ownerAccountID: owner, .groupOwnerAccountID: group], ofItemAtPath: path)
            } catch {
                return "cannot give the file to the folder's owner (user \(owner))"
            }
        }
        return nil
    }

    /// The file's bytes; nil if sealing failed (never falls back to writing the tokens in the clear).
    func encode(_ state: TokenState) -> [UInt8]? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var document = TokenStateDocument(format: TokenStateDocument.formatName, version: 1)
        if let key {
            guard let bytes = try? encoder.encode(state),
                let sealed = try? AES.GCM.seal(
                    bytes, using: SymmetricKey(data: key.bytes), authenticating: Self.associatedData
                ).combined
            else { return nil }
            document.encryption = "AES-256-GCM"
            document.sealed = sealed.base64EncodedString()
        } else {
            document.state = state
        }
        return (try? encoder.encode(document)).map(Array.init)
    }

    /// Temporary files a crash left behind (`<name>.tmp-<n>`); the real file is untouched by them. Recent ones may
    /// belong to another process writing right now (`covata-proxy login`), so only old ones go.
    private func removeLeftovers() {
        let manager = FileManager.default
        let folder = (path as NSString).deletingLastPathComponent
        let prefix = (path as NSString).lastPathComponent + ".tmp-"
        let cutoff = Date().addingTimeInterval(-60)
        for name in (try? manager.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(prefix) {
            let leftover = (folder as NSString).appendingPathComponent(name)
            guard let modified = try? manager.attributesOfItem(atPath: leftover)[.modificationDate] as? Date,
                modified < cutoff
            else { continue }
            try? manager.removeItem(atPath: leftover)
        }
    }
}

/// The state file's JSON, version 1. Plain: `state` is set. Encrypted: `sealed` holds AES-256-GCM's
/// nonce + ciphertext + tag (base64) of what `state` would be.
struct TokenStateDocument: Codable {
    static let formatName = "covata-proxy token state"

    var format: String
    var version: Int
    var encryption: String?
    var sealed: String?
    var state: TokenState?
}
