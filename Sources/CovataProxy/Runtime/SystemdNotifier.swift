import NIOCore
import NIOPosix

/// Tells systemd how the service is doing (`sd_notify`'s protocol: one datagram of `KEY=value` lines to the unix
/// socket in `$NOTIFY_SOCKET`), for units with `Type=notify`: `READY=1` once the listeners are up and a token is
/// held, `RELOADING=1` and `READY=1` around a reload, `STOPPING=1` on drain, and `STATUS=` with the token state,
/// which `systemctl status` shows. Without `$NOTIFY_SOCKET` (not under systemd) it does nothing.
public struct SystemdNotifier: Sendable {
    let socketPath: String?

    public init(environment: [String: String]) {
        // An abstract socket (`@…`) has no path NIO can address; systemd passes a path unless told otherwise.
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.hasPrefix("/") ? $0 : nil }
    }

    public var isActive: Bool { socketPath != nil }

    /// Sends `fields` (such as `["READY=1", "STATUS=…"]`) as one datagram. Failures are ignored: systemd notices a
    /// missing READY by itself.
    public func notify(_ fields: [String]) async {
        guard let socketPath else { return }
        let message = fields.map { $0.replacingOccurrences(of: "\n", with: " ") }.joined(separator: "\n")
        do {
            let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: socketPath).get()
            let address = try SocketAddress(unixDomainSocketPath: socketPath)
            try await channel.writeAndFlush(
                AddressedEnvelope(remoteAddress: address, data: ByteBuffer(string: message))
            ).get()
            try? await channel.close()
        } catch {
            return
        }
    }

    /// The `STATUS=` line for a token state.
    public static func status(_ token: TokenStatus) -> String {
        if token.hasValidToken { return "STATUS=ready: token jti \(token.jti ?? "-") held" }
        if token.credentialsRejected { return "STATUS=not ready: Covata rejected the credentials" }
        if token.signInRequired { return "STATUS=not ready: sign-in required: run \(token.signInCommand)" }
        return "STATUS=waiting for a token" + (token.lastError.map { ": \($0)" } ?? "")
    }
}
