import ServiceLifecycle

// The proxy's long-lived parts as swift-service-lifecycle services (the log writer's is beside it, in
// ProxyObservability). `RunCommand` runs them in one ServiceGroup in this order: the log writer, the token manager,
// the runtime; the group stops them in reverse, so requests drain
// while tokens can still be had, and the log writer writes the last line.

extension ProxyRuntime: Service {
    /// The listeners run from `start`; on graceful shutdown, drain (`drain`).
    public func run() async throws {
        try? await gracefulShutdown()
        await drain()
    }
}

extension TokenManager: Service {
    /// Renews on its own timer from `start`; on graceful shutdown, stops (after the runtime has drained).
    public func run() async throws {
        try? await gracefulShutdown()
        await stop()
    }
}
