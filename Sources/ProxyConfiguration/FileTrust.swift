import Foundation

/// Who may change what the proxy trusts: its config file, its secret files, the token state file and the folders
/// they sit in. Whoever can change `proxy.json` can point `oauth.tokenURL` at a listener of theirs and receive the
/// client secret and the password; whoever can change a secret file's folder can put their own file in its place.
/// So each must be writable by its owner only, and owned by the proxy's user or root. A folder with the sticky bit
/// (`/tmp`, Kubernetes' ConfigMap and Secret volumes) is the exception for folders: there only an entry's owner may
/// replace it.
enum FileTrust {
    /// Why others could change the file at `path` or put another in its place, or nil (also when it is missing:
    /// reading it says so). The file is judged through symlinks, as are the folder holding its name and the folder
    /// holding what it leads to (Kubernetes' `..data` links).
    static func fileProblem(_ path: String) -> String? {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: target) else { return nil }
        if let problem = problem(target, attributes, kind: "file") { return problem }
        let linkFolder = (path as NSString).deletingLastPathComponent
        let targetFolder = (target as NSString).deletingLastPathComponent
        return folderProblem(linkFolder.isEmpty ? "." : linkFolder)
            ?? (targetFolder == linkFolder ? nil : folderProblem(targetFolder))
    }

    /// Why others could replace what is in the folder at `path`, or nil. A folder that is a link is judged by its
    /// target (systemd's `DynamicUser=` links /var/lib/NAME to /var/lib/private/NAME).
    static func folderProblem(_ path: String) -> String? {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: target) else { return nil }
        return problem(target, attributes, kind: "folder")
    }

    private static func problem(_ path: String, _ attributes: [FileAttributeKey: Any], kind: String) -> String? {
        let mode = attributes.mode
        let sticky = kind == "folder" && mode & 0o1000 != 0
        if mode & 0o022 != 0, !sticky {
            return "\(kind) \(path) has mode \(String(mode, radix: 8)): "
                + "\(mode & 0o002 != 0 ? "every user" : "its group") can change it; expected writable by its owner "
                + "only (chmod go-w \(path))"
        }
        if let owner = (attributes[.ownerAccountID] as? NSNumber)?.intValue, owner != 0,
            let user = StateFileConfig.effectiveUserID(), owner != user
        {
            return "\(kind) \(path) is owned by user \(owner); expected the proxy's user (\(user)) or root"
        }
        return nil
    }
}
