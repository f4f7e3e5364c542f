import Foundation

extension StateFileConfig {
    /// An existing state file must be a regular file that only its owner, the proxy's user, can read: it holds a
    /// refresh token, which is as good as a login. A missing file is fine (the first sign-in writes it).
    static func checkExisting(path: String, keyPath: String) throws(ConfigError) {
        let manager = FileManager.default
        let folder = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ConfigError(keyPath, "folder \(folder) does not exist")
        }
        guard let attributes = try? manager.attributesOfItem(atPath: path) else { return }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw ConfigError(keyPath, "\(path) is not a regular file")
        }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
        guard mode & 0o077 == 0 else {
            throw ConfigError(
                keyPath,
                "\(path) has mode \(String(mode, radix: 8)); it holds a refresh token, so group and others must have "
                    + "no access (chmod 600 \(path))")
        }
        if let owner = (attributes[.ownerAccountID] as? NSNumber)?.intValue, let user = effectiveUserID(),
            owner != user
        {
            throw ConfigError(keyPath, "\(path) is owned by user \(owner), not by the proxy's user \(user)")
        }
    }

    /// The process's effective user: Linux gives /proc/self to it.
    static func effectiveUserID() -> Int? {
        let attributes = try? FileManager.default.attributesOfItem(atPath: "/proc/self")
        return (attributes?[.ownerAccountID] as? NSNumber)?.intValue
    }
}
