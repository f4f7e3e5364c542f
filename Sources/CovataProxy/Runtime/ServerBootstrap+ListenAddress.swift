import Foundation
import NIOCore
import NIOPosix

extension ServerBootstrap {
    /// Binds a TCP address or a unix socket path. A unix socket is created in a private folder beside its path, given
    /// `socketMode` there and only then renamed into place: bound where it belongs, it would be reachable with the
    /// process umask's mode until a chmod, and whoever connects in that window acts as the Covata user.
    func bind(to address: ListenAddress, socketMode: Int = 0o600) async throws -> any Channel {
        switch address {
        case .tcp(let host, let port):
            return try await bind(host: host, port: port).get()
        case .unix(let path):
            let manager = FileManager.default
            // A stale socket from a previous run would make bind fail; anything else at the path is refused.
            if let type = try? manager.attributesOfItem(atPath: path)[.type] as? FileAttributeType {
                guard type == .typeSocket else { throw SocketPathTaken(path: path) }
                try manager.removeItem(atPath: path)
            }
            let folder = (path as NSString).deletingLastPathComponent + "/.covata-proxy-\(UUID().uuidString)"
            try manager.createDirectory(atPath: folder, withIntermediateDirectories: false)
            defer { try? manager.removeItem(atPath: folder) }
            // Only the proxy's user can reach anything in here, whatever the umask made the folder.
            try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder)
            let hidden = folder + "/socket"
            let channel = try await bind(unixDomainSocketPath: hidden).get()
            do {
                try manager.setAttributes([.posixPermissions: socketMode], ofItemAtPath: hidden)
                try manager.moveItem(atPath: hidden, toPath: path)
            } catch {
                try? await channel.close()
                throw error
            }
            return channel
        }
    }
}

/// The unix socket path names something that is not a socket (a file or a folder): never removed to make room.
struct SocketPathTaken: Error, CustomStringConvertible {
    var path: String
    var description: String { "\(path) exists and is not a socket" }
}
