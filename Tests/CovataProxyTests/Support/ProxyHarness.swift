import CovataMock
import Foundation

@testable import CovataProxy
@testable import ProxyConfiguration

/// covata-mock plus an in-process covata-proxy whose routes point at it, both on port 0.
struct ProxyHarness {
    let mock: CovataMockServer
    let proxy: ProxyRuntime
    let logs: CapturedLogs

    /// The admin listener's TCP port.
    var adminPort: Int {
        guard case .tcp(_, let port)? = proxy.adminAddress else { return 0 }
        return port
    }

    /// The TCP port of route `index`.
    func port(_ index: Int = 0) -> Int {
        guard case .tcp(_, let port) = proxy.listenAddresses[index] else { return 0 }
        return port
    }

    static func with(
        routes: Int = 1, password: String = MockSettings().password, basePath: String = "",
        tokenFault: MockFault = .none, mockSettings: MockSettings = MockSettings(),
        configure: (inout ProxyConfig) -> Void = { _ in },
        _ body: (ProxyHarness) async throws -> Void
    ) async throws {
        let mock = try await CovataMockServer(settings: mockSettings)
        mock.state.setFault(tokenFault)
        let logs = CapturedLogs()
        var oauth = TestConfigs.oauth(tokenURL: "\(mock.baseURL)/api/oauth/token", password: password)
        oauth.retryInitialSeconds = 0.05
        oauth.retryMaxSeconds = 0.2
        let upstream = UpstreamURL(scheme: "http", host: "127.0.0.1", port: mock.port, basePath: basePath)
        var config = ProxyConfig(
            routes: (0..<routes).map { _ in RouteConfig(listen: .tcp(host: "127.0.0.1", port: 0), upstream: upstream) },
            oauth: oauth, admin: AdminConfig(listen: .tcp(host: "127.0.0.1", port: 0)), tls: .systemDefault,
            egressProxy: nil, log: LogConfig(level: .trace, format: nil),
            timeouts: .defaults, limits: .defaults)
        configure(&config)
        let proxy: ProxyRuntime
        do {
            proxy = try await ProxyRuntime.start(
                config: config, logger: logs.logger(), accessLog: logs.accessLog(), metrics: TestMetrics.make(),
                threads: 1)
        } catch {
            await mock.stop()
            throw error
        }
        let harness = ProxyHarness(mock: mock, proxy: proxy, logs: logs)
        do {
            try await body(harness)
        } catch {
            await proxy.stop()
            await mock.stop()
            throw error
        }
        await proxy.stop()
        await mock.stop()
    }
}
