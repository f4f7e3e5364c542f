import Foundation

// The oauth section: endpoint, client, grant, and the token state file with its checks
// (parsing: ProxyConfig+OAuth.swift).

/// How to obtain tokens from Covata's token endpoint.
public struct OAuthConfig: Sendable, Equatable {
    public var tokenURL: EndpointURL
    public var clientID: String
    public var clientSecret: Secret
    /// Which grant signs in: the password grant, or a refresh token from `covata-proxy login`.
    public var signIn: OAuthSignIn
    public var scope: String?
    /// Where the refresh token (and the current access token) survive restarts, if anywhere.
    public var stateFile: StateFileConfig?
    /// Refresh this long before expiry (bounded by a fraction of the token's lifetime).
    public var refreshAheadSeconds: Double
    /// Lifetime assumed when the answer has neither `expires_in` nor a JWT `exp`.
    public var defaultLifetimeSeconds: Double
    /// After Covata rejects the credentials, wait this long before trying them again (protects the account).
    public var rejectedRetrySeconds: Double
    /// Exponential backoff for transient token-endpoint failures: first delay and cap.
    public var retryInitialSeconds: Double
    public var retryMaxSeconds: Double
}

/// The grant that signs the proxy in when it has no usable refresh token.
public enum OAuthSignIn: Sendable, Equatable {
    /// `grant_type=password` with a service account's credentials (RFC 6749 §4.3).
    case password(username: String, password: Secret)
    /// No password at rest: an operator signs in once with `covata-proxy login` (RFC 6749 §4.1) and the proxy
    /// lives on the refresh token it stored.
    case authorizationCode(AuthorizationCodeConfig)

    /// The `oauth.grant` value.
    public var grantName: String {
        switch self {
        case .password: "password"
        case .authorizationCode: "authorization_code"
        }
    }
}

/// What `covata-proxy login` needs for the authorization-code flow.
public struct AuthorizationCodeConfig: Sendable, Equatable {
    /// Covata's `/api/oauth/authorize`, next to the token endpoint unless configured.
    public var authorizeURL: EndpointURL
    /// Registered with the client application; a loopback `http://` address makes `login` listen for it.
    public var redirectURI: RedirectURI
    /// Send an RFC 7636 S256 code challenge (servers that do not know PKCE ignore it).
    public var pkce: Bool
}

/// The OAuth redirect URI. On loopback `http://` (RFC 8252 §7.3) `covata-proxy login` can receive the code
/// itself; any other URI must be `https://` and the operator pastes what the browser shows.
public struct RedirectURI: Sendable, Equatable {
    public static let defaultValue = "http://127.0.0.1:9902/callback"

    public let text: String
    /// Where `login` listens, when the URI is loopback http.
    public let loopback: (host: String, port: Int, path: String)?

    public init?(_ text: String) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty, components.fragment == nil
        else { return nil }
        self.text = text
        switch scheme {
        case "https":
            loopback = nil
        case "http" where HostName.isLoopback(host):
            let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
            loopback = (host, components.port ?? 80, path)
        default:
            return nil
        }
    }

    public static func == (lhs: RedirectURI, rhs: RedirectURI) -> Bool { lhs.text == rhs.text }
}

/// `oauth.stateFile` and its optional encryption key.
public struct StateFileConfig: Sendable, Equatable {
    /// Absolute path of the state file.
    public var path: String
    /// 32 raw bytes for AES-256-GCM, when the file is to be encrypted.
    public var key: StateKey?
}

/// The state file's AES-256 key. Like `Secret`, it never prints.
public struct StateKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package let bytes: [UInt8]

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

extension StateFileConfig {
    /// The state file holds a refresh token, which is as good as a login, so whoever can write its folder or the file
    /// could make the proxy adopt a token of their choosing. At start both are checked and a problem is refused,
    /// naming the key; a missing file is fine (the first sign-in writes it).
    static func checkExisting(path: String, keyPath: String) throws(ConfigError) {
        if let problem = folderProblem(path) ?? fileProblem(path) { throw ConfigError(keyPath, problem) }
    }

    /// Why the state file's folder is not safe, or nil when it is. A missing folder in an existing one is fine: the
    /// first write creates it, private (a Kubernetes `emptyDir` is writable by all, so the file lives one level down).
    static func folderProblem(_ path: String) -> String? {
        // The folder may be a link (systemd's DynamicUser= links /var/lib/NAME to /var/lib/private/NAME): what it
        // leads to is judged. The file itself must never be one.
        let folder = URL(fileURLWithPath: (path as NSString).deletingLastPathComponent).resolvingSymlinksInPath().path
        let manager = FileManager.default
        guard let attributes = try? manager.attributesOfItem(atPath: folder) else {
            var isFolder: ObjCBool = false
            let parent = (folder as NSString).deletingLastPathComponent
            if manager.fileExists(atPath: parent, isDirectory: &isFolder), isFolder.boolValue { return nil }
            return "folder \(folder) does not exist"
        }
        guard attributes[.type] as? FileAttributeType == .typeDirectory else {
            return "\(folder) is not a folder"
        }
        let mode = attributes.mode
        guard mode & 0o022 == 0 else {
            return "folder \(folder) has mode \(String(mode, radix: 8)); others could plant a refresh token there, so "
                + "group and others must not be able to write it (chmod go-w \(folder))"
        }
        // Its owner could swap the file later, whatever the mode says now.
        return FileTrust.folderProblem(folder)
    }

    /// Why an existing state file must not be used, or nil when it is safe (or missing). Checked at start and again
    /// every time the running proxy reads the file.
    package static func fileProblem(_ path: String) -> String? {
        // attributesOfItem does not follow a final symlink, so a link reports as one.
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            return "\(path) is not a regular file (a symlink or something else)"
        }
        let mode = attributes.mode
        guard mode & 0o077 == 0 else {
            return "\(path) has mode \(String(mode, radix: 8)); it holds a refresh token, so group and others must "
                + "have no access (chmod 600 \(path))"
        }
        if let owner = (attributes[.ownerAccountID] as? NSNumber)?.intValue, let user = effectiveUserID(),
            owner != user
        {
            return "\(path) is owned by user \(owner), not by the proxy's user \(user)"
        }
        return nil
    }

    /// The process's effective user: Linux gives /proc/self to it.
    package static func effectiveUserID() -> Int? {
        let attributes = try? FileManager.default.attributesOfItem(atPath: "/proc/self")
        return (attributes?[.ownerAccountID] as? NSNumber)?.intValue
    }
}
