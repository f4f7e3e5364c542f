import Foundation

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
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
        guard mode & 0o022 == 0 else {
            return "folder \(folder) has mode \(String(mode, radix: 8)); others could plant a refresh token there, so "
                + "group and others must not be able to write it (chmod go-w \(folder))"
        }
        return nil
    }

    /// Why an existing state file must not be used, or nil when it is safe (or missing). Checked at start and again
    /// every time the running proxy reads the file.
    static func fileProblem(_ path: String) -> String? {
        // attributesOfItem does not follow a final symlink, so a link reports as one.
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            return "\(path) is not a regular file (a symlink or something else)"
        }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
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
    static func effectiveUserID() -> Int? {
        let attributes = try? FileManager.default.attributesOfItem(atPath: "/proc/self")
        return (attributes?[.ownerAccountID] as? NSNumber)?.intValue
    }
}
