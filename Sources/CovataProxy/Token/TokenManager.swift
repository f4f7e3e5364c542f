import Foundation
import Logging

/// Owns the Covata token: obtains it, refreshes it ahead of expiry, and hands it to requests.
///
/// One token operation runs at a time (single flight) however many callers wait; they share its result.
/// Requests never wait for a refresh they do not need: while the current token is valid they get it at once.
public actor TokenManager {
    var config: OAuthConfig
    let transport: any TokenTransport
    let clock: any TokenClock
    let logger: Logger
    let random: @Sendable () -> Double
    let wallClock: @Sendable () -> Double
    let metrics: ProxyMetrics?
    /// Where tokens survive restarts, if configured.
    let stateFile: TokenStateFile?
    /// What an operator runs when the code grant needs a fresh sign-in.
    let loginCommand: String

    var current: AccessToken? {
        didSet { publishSnapshot() }
    }
    nonisolated let snapshot = TokenSnapshot()
    var refreshToken: Secret?
    /// The refresh token Covata last refused, so the state file is not re-read into the same refusal.
    var rejectedRefreshToken: Secret?
    var flight: Task<Void, Never>?
    var nextAttemptAt: Double = 0
    var consecutiveFailures = 0
    var lastFailure: TokenFailure?
    var refresher: Task<Void, Never>?

    public init(
        config: OAuthConfig,
        transport: any TokenTransport,
        clock: any TokenClock = SystemTokenClock(),
        logger: Logger,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
        wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        metrics: ProxyMetrics? = nil,
        loginCommand: String = "covata-proxy login"
    ) {
        self.metrics = metrics
        self.stateFile = config.stateFile.map(TokenStateFile.init)
        self.loginCommand = loginCommand
        self.config = config
        self.transport = transport
        self.clock = clock
        self.logger = logger
        self.random = random
        self.wallClock = wallClock
    }

    /// A token valid now. Waits only when there is none; starts a background refresh when one is due.
    public func token() async throws(TokenError) -> AccessToken {
        if let token = current, isUsable(token) {
            if clock.now >= refreshAt(token) { startFlightIfAllowed() }
            return token
        }
        if flight == nil {
            guard clock.now >= nextAttemptAt else { throw unavailableError() }
            startFlight()
        }
        await flight?.value
        if let token = current, isUsable(token) { return token }
        throw unavailableError()
    }

    /// The current token without waiting, when it is valid and no refresh is due; nil means "call `token()`".
    public nonisolated func cachedToken() -> AccessToken? {
        snapshot.token(at: clock.now)
    }

    func publishSnapshot() {
        snapshot.publish(
            current.map { token in
                TokenSnapshot.Entry(
                    token: token, refreshAt: refreshAt(token),
                    usableUntil: usableUntil(token))
            })
    }

    /// `token()` as a Result, for callers that hop executors with it.
    public func tokenResult() async -> Result<AccessToken, TokenError> {
        do throws(TokenError) {
            return .success(try await token())
        } catch {
            return .failure(error)
        }
    }

    /// The upstream refused `token` as invalid: drop it if it is still the current one, so a burst of
    /// 401s for the same token causes one refresh.
    public func invalidate(_ token: AccessToken) {
        guard let current, current.value == token.value else { return }
        logger.info("access token invalidated by upstream", metadata: ["jti": "\(current.jti ?? "-")"])
        self.current = nil
    }

    /// Restores the state file, if any, then keeps the token fresh in the background until `stop()`, so it is valid
    /// even between requests.
    public func start() async {
        guard refresher == nil else { return }
        await restoreSavedState()
        refresher = Task { await self.refreshLoop() }
    }

    /// Wakes a refresher that sleeps towards a refresh that no longer applies (it polls the state file instead).
    func restartRefresher() {
        guard let running = refresher else { return }
        running.cancel()
        refresher = Task { await self.refreshLoop() }
    }

    public func stop() {
        refresher?.cancel()
        refresher = nil
    }

    /// New credentials (a reload): forget a rejection so they are tried at once.
    public func update(config: OAuthConfig) {
        let credentialsChanged = config != self.config
        self.config = config
        publishSnapshot()
        switch lastFailure {
        case .credentialsRejected? where credentialsChanged, .signInRequired?:
            nextAttemptAt = 0
            consecutiveFailures = 0
        default:
            break
        }
    }

    public func status() -> TokenStatus {
        let usable = current.map(isUsable) ?? false
        var rejected = false
        var signInRequired = false
        switch lastFailure {
        case .credentialsRejected?: rejected = true
        case .signInRequired?: signInRequired = true
        default: break
        }
        return TokenStatus(
            hasValidToken: usable,
            jti: usable ? current?.jti : nil,
            scope: usable ? current?.scope : nil,
            secondsToExpiry: usable ? current.map { $0.expiresAt - clock.now } : nil,
            credentialsRejected: rejected,
            signInRequired: signInRequired,
            signInCommand: loginCommand,
            hasRefreshToken: refreshToken != nil,
            lastError: lastFailure?.reason)
    }

    // MARK: - Timing

    /// A token is handed out only while it has at least a second left, so it does not expire in flight.
    func isUsable(_ token: AccessToken) -> Bool {
        clock.now < usableUntil(token)
    }

    /// The moment a token stops being handed out: a second (or 5% of its lifetime) before it expires.
    nonisolated func usableUntil(_ token: AccessToken) -> Double {
        token.expiresAt - min(1, token.lifetime * 0.05)
    }

    /// Refresh ahead by the configured margin, bounded to a fifth of the lifetime so a short-lived token is
    /// not refreshed on every request.
    func refreshAt(_ token: AccessToken) -> Double {
        token.expiresAt - min(config.refreshAheadSeconds, token.lifetime * 0.2)
    }

    func unavailableError() -> TokenError {
        let retryAfter = max(1, Int(min(nextAttemptAt - clock.now, 86400 * 7).rounded(.up)))
        switch lastFailure {
        case .credentialsRejected?: return .credentialsRejected(retryAfterSeconds: retryAfter)
        case .signInRequired?: return .signInRequired(command: loginCommand)
        default: break
        }
        return .unavailable(reason: lastFailure?.reason ?? "no access token yet", retryAfterSeconds: retryAfter)
    }
}
