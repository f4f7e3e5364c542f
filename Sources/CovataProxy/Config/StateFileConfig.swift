/// `oauth.stateFile` and its optional encryption key.
public struct StateFileConfig: Sendable, Equatable {
    /// Absolute path of the state file.
    public var path: String
    /// 32 raw bytes for AES-256-GCM, when the file is to be encrypted.
    public var key: StateKey?
}
