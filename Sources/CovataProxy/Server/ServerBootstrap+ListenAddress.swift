import Foundation
import NIOCore
import NIOPosix

extension ServerBootstrap {
    /// Binds a TCP address or a unix socket path.
    func bind(to address: ListenAddress) async throws -> any Channel {
        switch address {
        case .tcp(let host, let port):
            return try await bind(host: host, port: port).get()
        case .unix(let path):
            // A stale socket file from a previous run would make bind fail.
            try? FileManager.default.removeItem(atPath: path)
            return try await bind(unixDomainSocketPath: path).get()
        }
    }
}
