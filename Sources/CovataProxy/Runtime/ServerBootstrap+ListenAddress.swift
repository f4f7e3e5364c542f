import Foundation
import NIOCore
import NIOPosix
import ProxyConfiguration

extension ServerBootstrap {
    /// Binds a listen address; the first channel is the one whose port is reported. `localhost` means loopback on
    /// both families (RFC 6761 §6.3): curl, and other clients since, resolve it to `::1` and `127.0.0.1` whatever
    /// /etc/hosts says and try `::1` first, so a listener on 127.0.0.1 alone would let another local user bind
    /// `[::1]` on the same port and receive the tools' requests. Both are bound, or the start fails naming the one
    /// that is taken; only a machine without IPv6 gets the one.
    func bindAll(to address: ListenAddress, socketMode: Int = 0o600) async throws -> [any Channel] {
        guard case .tcp(let host, let port) = address, host.lowercased() == "localhost" else {
            return [try await bind(to: address, socketMode: socketMode)]
        }
        var attempt = 0
        while true {
            attempt += 1
            let v4 = try await bind(host: "127.0.0.1", port: port).get()
            let bound = v4.localAddress?.port ?? port
            do {
                return [v4, try await bind(host: "::1", port: bound).get()]
            } catch let error as IOError where error.errnoCode == EADDRNOTAVAIL || error.errnoCode == EAFNOSUPPORT {
                return [v4]  // No IPv6 loopback here: nobody can bind [::1] either.
            } catch let error as IOError where error.errnoCode == EADDRINUSE && port == 0 && attempt < 5 {
                try? await v4.close()  // The port picked for 127.0.0.1 is taken on [::1]: pick another.
            } catch {
                try? await v4.close()
                throw LocalhostHalfTaken(port: bound, reason: "\(error)")
            }
        }
    }

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

/// `localhost:PORT` could not hold `[::1]:PORT`: another program has it, and would get the tools' requests.
struct LocalhostHalfTaken: Error, CustomStringConvertible {
    var port: Int
    var reason: String
    var description: String {
        "[::1]:\(port) cannot be bound (\(reason)); \"localhost\" listens on both 127.0.0.1 and [::1], because "
            + "clients such as curl try [::1] first: free that port, or listen on 127.0.0.1:\(port) explicitly"
    }
}

/// The unix socket path names something that is not a socket (a file or a folder): never removed to make room.
struct SocketPathTaken: Error, CustomStringConvertible {
    var path: String
    var description: String { "\(path) exists and is not a socket" }
}
