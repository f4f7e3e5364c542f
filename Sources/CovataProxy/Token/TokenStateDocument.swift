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
