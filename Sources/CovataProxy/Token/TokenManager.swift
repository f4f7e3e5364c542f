import ProxyConfiguration
import ProxyObservability
import Foundation
import Logging

/// Owns the Covata token. The lifecycle's decisions are `TokenLifecycle`'s; this actor performs what it asks for
/// (token requests, the state file, the one timer, waking callers, log lines) and feeds the results back in.
///
/// One token operation runs at a time however many callers wait; they share its result. While the current token is
/// valid, callers get it at once, usually from the lock-free snapshot without entering the actor.
public actor TokenManager {
    private(set) var config: OAuthConfig
    let transport: any TokenTransport
    let clock: any TokenClock
    let logger: Logger
    let random: @Sendable () -> Double
    let wallClock: @Sendable () -> Double
    let metrics: ProxyMetrics?
    /// Where tokens survive restarts, if configured.
    let stateFile: TokenStateFile?
    let loginCommand: String
    /// The running proxy logs failures with what it will do next; a one-shot command says it all once, itself.
    let logsRetries: Bool

    private(set) var machine: TokenLifecycle
    nonisolated let snapshot = TokenSnapshot()
    /// Callers waiting for the token operation in flight.
    private var waiters: [CheckedContinuation<Void, Never>] = []
    /// The one timer, armed for the moment the machine asked to be woken.
    private var timer: Task<Void, Never>?
    /// Unix time of the last successful token operation, for `/metrics`.
    private var lastSuccessAt: Double?
    /// The last state-file write; each write waits for the one before, so an older state never lands last.
    var persisting: Task<Bool, Never>?

    public init(
        config: OAuthConfig,
        transport: any TokenTransport,
        clock: any TokenClock = SystemTokenClock(),
        logger: Logger,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
        wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        metrics: ProxyMetrics? = nil,
        loginCommand: String = "covata-proxy login",
        logsRetries: Bool = true
    ) {
        self.logsRetries = logsRetries
        self.metrics = metrics
        self.stateFile = config.stateFile.map(TokenStateFile.init)
        self.loginCommand = loginCommand
        self.config = config
        self.transport = transport
        self.clock = clock
        self.logger = logger
        self.random = random
        self.wallClock = wallClock
        self.machine = TokenLifecycle(settings: .init(config, loginCommand: loginCommand))
    }

    // MARK: - What callers use

    /// A token valid now. Waits only while a token operation that can give one is in flight.
    public func token() async throws(TokenError) -> AccessToken {
        handle(.tokenNeeded)
        while true {
            switch machine.answer(now: clock.now) {
            case .token(let token): return token
            case .unavailable(let error): throw error
            case .wait: await withCheckedContinuation { waiters.append($0) }
            }
        }
    }

    /// `token()` as a Result, for callers that hop executors with it.
    public func tokenResult() async -> Result<AccessToken, TokenError> {
        do throws(TokenError) {
            return .success(try await token())
        } catch {
            return .failure(error)
        }
    }

    /// The current token without waiting, when it is valid and no refresh is due; nil means "call `token()`".
    public nonisolated func cachedToken() -> AccessToken? {
        snapshot.token(at: clock.now)
    }

    /// The upstream refused `token` (401 `invalid_token`) for `resource` (its URL without the query). It is retired
    /// if it is still the current one, unless the evidence says the resource refuses any token. `replaying`: the
    /// refused request is sent again with the next token.
    /// - Returns: whether a request replayed now would carry a different token.
    @discardableResult
    public func invalidate(_ token: AccessToken, resource: String, replaying: Bool = false) -> Bool {
        handle(.rejectedByUpstream(token.value, resource: resource, replaying: replaying))
        return machine.held?.token.value != token.value
    }

    /// The upstream answered a request for `resource` with `token` with anything but 401: called for a token on
    /// probation there (`AccessToken.probation`), it ends the probation.
    public func accepted(_ token: AccessToken, resource: String) {
        handle(.acceptedByUpstream(token.value, resource: resource))
    }

    /// Restores the state file, if any, then keeps the token fresh in the background until `stop()`.
    public func start() async {
        guard machine.phase == .idle else { return }
        let stored = await loadStored(reportingProblems: true)
        handle(.start(stored))
    }

    /// Ends the timer and answers waiting callers; returns once the last state-file write is done.
    public func stop() async {
        handle(.stop)
        _ = await persisting?.value
    }

    /// A reloaded config. Changed credentials end any pause or backoff and are tried at once.
    public func update(config new: OAuthConfig) {
        let change = TokenLifecycle.Change.between(config, new)
        config = new
        handle(.reloaded(.init(new, loginCommand: loginCommand), change))
    }

    public func status() -> TokenStatus {
        let now = clock.now
        let usable = machine.usableToken(now: now)
        let failure = machine.lastFailure
        var rejected = false
        var signInRequired = false
        switch failure {
        case .credentialsRejected?: rejected = true
        case .signInRequired?: signInRequired = true
        default: break
        }
        return TokenStatus(
            hasValidToken: usable != nil, jti: usable?.jti, scope: usable?.scope,
            secondsToExpiry: usable.map { $0.expiresAt - now }, credentialsRejected: rejected,
            signInRequired: signInRequired, signInCommand: loginCommand,
            hasRefreshToken: machine.refreshToken != nil, lastError: failure?.reason,
            expiresAt: usable.map { wallClock() + ($0.expiresAt - now) }, lastSuccessAt: lastSuccessAt)
    }

    /// Waits for the state-file writes asked for so far. - Returns: whether the last one succeeded.
    func persisted() async -> Bool {
        await persisting?.value ?? false
    }

    // MARK: - Performing the machine's actions

    func handle(_ event: TokenLifecycle.Event) {
        for action in machine.handle(event, now: clock.now) { perform(action) }
    }

    private func perform(_ action: TokenLifecycle.Action) {
        switch action {
        case .request(let grant, let ticket):
            Task {
                switch await request(grant) {
                case .success(let token): handle(.obtained(token, ticket: ticket, jitter: random()))
                case .failure(let failure): handle(.failed(failure, ticket: ticket, jitter: random()))
                }
            }
        case .readStateFile(let ticket):
            Task { handle(.stateFileRead(await loadStored(reportingProblems: false), ticket: ticket)) }
        case .persist(let token, let refreshToken):
            persist(token, refreshToken: refreshToken)
        case .publish:
            let now = clock.now
            snapshot.publish(
                machine.usableToken(now: now).map {
                    TokenSnapshot.Entry(
                        token: $0, refreshAt: machine.renewAt ?? now, usableUntil: TokenLifecycle.usableUntil($0))
                })
        case .wake(let at):
            timer?.cancel()
            timer = at.map { at in
                Task { [clock] in
                    do { try await clock.sleep(seconds: at - clock.now) } catch { return }
                    guard !Task.isCancelled else { return }
                    handle(.tick)
                }
            }
        case .answerWaiters:
            let waiting = waiters
            waiters.removeAll()
            for waiter in waiting { waiter.resume() }
        case .report(let report):
            log(report)
        }
    }

    func request(_ grant: TokenGrant) async -> Result<AccessToken, TokenFailure> {
        let wire = TokenEndpointRequest(config: config, grant: grant)
        let sentAt = clock.now
        let response: TokenHTTPResponse
        do {
            response = try await transport.post(url: wire.url, headers: wire.headers, body: wire.body)
        } catch {
            metrics?.tokenOperation(grant: grant.description, outcome: "failed")
            // curl names the cause ("Failed to connect to … port …: Connection refused"); no secret in it.
            return .failure(.transient(reason: "token endpoint unreachable or too slow: \(error.description)"))
        }
        let result = TokenResponse.interpret(
            response, grant: grant, obtainedAt: sentAt, wallClock: wallClock(),
            defaultLifetime: config.defaultLifetimeSeconds)
        metrics?.tokenOperation(grant: grant.description, outcome: result.outcomeLabel)
        return result
    }

    private func log(_ report: TokenLifecycle.Report) {
        switch report {
        case .willRetry, .credentialsRejected, .signInRequired:
            guard logsRetries else { return }
        default:
            break
        }
        switch report {
        case .obtained(let token, let grant):
            lastSuccessAt = wallClock()
            logger.info(
                "access token obtained",
                metadata: [
                    "grant": "\(grant)", "jti": "\(token.jti ?? "-")", "scope": "\(token.scope ?? "-")",
                    "expires_in": .stringConvertible(Int(token.lifetime)),
                ])
        case .willRetry(let reason, let attempt, let delay):
            logger.warning(
                "token request failed; will retry",
                metadata: [
                    "reason": "\(reason)", "attempt": .stringConvertible(attempt),
                    "retry_in_ms": .stringConvertible(Int(delay * 1000)),
                ])
        case .credentialsRejected(let reason, let pause):
            logger.error(
                "credentials rejected by Covata; not retrying until the pause ends or changed credentials are loaded",
                metadata: ["reason": "\(reason)", "retry_in_s": .stringConvertible(Int(pause))])
        case .signInRequired(let reason):
            logger.error(
                "sign-in required; waiting for a new refresh token in the state file",
                metadata: ["reason": "\(reason)", "run": "\(loginCommand)"])
        case .refreshTokenRejected(let error):
            logger.notice(
                "refresh token rejected", metadata: ["error": "\(error)", "next": "state_file"])
        case .retired(let jti):
            logger.info("access token invalidated by upstream", metadata: ["jti": "\(jti ?? "-")"])
        case .resourceRefuses(let jti):
            logger.notice(
                "upstream refuses a token it was given fresh; its 401s are relayed and the token kept",
                metadata: ["jti": "\(jti ?? "-")"])
        case .handedBack(let jti, let seconds):
            logger.info(
                "Covata handed back the token it had issued; renewing when it expires",
                metadata: ["jti": "\(jti ?? "-")", "renew_in_ms": .stringConvertible(Int(seconds * 1000))])
        case .newSignInFound:
            logger.notice("new refresh token found in the state file", metadata: ["path": "\(stateFile?.path ?? "-")"])
        }
    }
}

extension Result where Success == AccessToken, Failure == TokenFailure {
    /// The `outcome` label of the token-operations metric.
    var outcomeLabel: String {
        switch self {
        case .success: "success"
        case .failure(.transient): "failed"
        case .failure: "rejected"
        }
    }
}

extension OAuthSignIn {
    /// The password grant's account, nil for the code grant.
    var username: String? {
        if case .password(let username, _) = self { return username }
        return nil
    }
}

/// Why no token can be handed out right now. Becomes a 503 with Retry-After.
public enum TokenError: Error, Sendable, Equatable {
    /// Covata rejected the configured credentials; the proxy waits before trying them again.
    case credentialsRejected(retryAfterSeconds: Int)
    /// No usable refresh token under the code grant; an operator must run `command`.
    case signInRequired(command: String)
    /// The token endpoint failed; a retry is scheduled.
    case unavailable(reason: String, retryAfterSeconds: Int)
}

/// A snapshot of the token lifecycle, for readiness, `/status` and the `token` command. Holds no secret.
public struct TokenStatus: Sendable {
    public var hasValidToken: Bool
    public var jti: String?
    public var scope: String?
    public var secondsToExpiry: Double?
    public var credentialsRejected: Bool
    /// The code grant lost its refresh token: `signInCommand` tells the operator what to run.
    public var signInRequired: Bool
    public var signInCommand: String
    /// Whether a refresh token is held (so a restart or a refresh needs no login).
    public var hasRefreshToken: Bool
    public var lastError: String?
    /// Unix times: when the valid token expires, and when a token operation last succeeded.
    public var expiresAt: Double?
    public var lastSuccessAt: Double?
}
