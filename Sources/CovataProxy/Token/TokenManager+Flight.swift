/// The single token operation in flight, and the background refresher that schedules it.
extension TokenManager {
    func startFlightIfAllowed() {
        guard flight == nil, clock.now >= nextAttemptAt else { return }
        startFlight()
    }

    func startFlight() {
        flight = Task { await self.runFlight() }
    }

    private func runFlight() async {
        let startedAt = clock.now
        let outcome = await obtain()
        record(outcome, startedAt: startedAt)
        // Persisted before the flight ends, so the next refresh cannot overtake this write.
        if case .success = outcome { await persist() }
        flight = nil
    }

    /// Refresh token first; if Covata refuses it, the configured sign-in once.
    private func obtain() async -> Result<(AccessToken, TokenGrant), TokenFailure> {
        if let held = refreshToken, let outcome = await refresh(with: held) { return outcome }
        switch config.signIn {
        case .password(let username, let password):
            let grant = TokenGrant.password(username: username, password: password)
            return await request(grant).map { ($0, grant) }.mapError { failure in
                // A refused password grant is a credential problem, whatever the code said.
                if case .grantRejected(let error) = failure { return .credentialsRejected(error: error) }
                return failure
            }
        case .authorizationCode:
            // `covata-proxy login` (or another process) may have stored a newer refresh token meanwhile.
            if let saved = await storedRefreshToken(), saved != rejectedRefreshToken,
                let outcome = await refresh(with: saved)
            {
                return outcome
            }
            let reason = rejectedRefreshToken == nil ? "no refresh token stored" : "Covata rejected the refresh token"
            return .failure(.signInRequired(reason: reason))
        }
    }

    /// One refresh-token grant. nil when Covata refused the token: it is forgotten, and the caller moves on to the
    /// next way of signing in.
    private func refresh(with token: Secret) async -> Result<(AccessToken, TokenGrant), TokenFailure>? {
        let grant = TokenGrant.refreshToken(token)
        let result = await request(grant)
        guard case .failure(.grantRejected(let error)) = result else { return result.map { ($0, grant) } }
        logger.notice("refresh token rejected", metadata: ["error": "\(error)", "next": "\(config.signIn.grantName)"])
        rejectedRefreshToken = token
        if refreshToken == token { refreshToken = nil }
        return nil
    }

    func request(_ grant: TokenGrant) async -> Result<AccessToken, TokenFailure> {
        let wire = TokenEndpointRequest(config: config, grant: grant)
        let sentAt = clock.now
        let response: TokenHTTPResponse
        do {
            response = try await transport.post(url: wire.url, headers: wire.headers, body: wire.body)
        } catch {
            metrics?.tokenOperation(grant: grant.description, outcome: "failed")
            logger.debug("token endpoint transport error", metadata: ["detail": "\(error.description)"])
            return .failure(.transient(reason: "token endpoint unreachable or too slow"))
        }
        let result = TokenResponse.interpret(
            response, grant: grant, obtainedAt: sentAt, wallClock: wallClock(),
            defaultLifetime: config.defaultLifetimeSeconds)
        metrics?.tokenOperation(grant: grant.description, outcome: result.outcomeLabel)
        return result
    }

    func record(_ outcome: Result<(AccessToken, TokenGrant), TokenFailure>, startedAt: Double) {
        switch outcome {
        case .success(let (token, grant)):
            current = token
            if let rotated = token.refreshToken { refreshToken = rotated }
            consecutiveFailures = 0
            lastFailure = nil
            nextAttemptAt = 0
            logger.info(
                "access token obtained",
                metadata: [
                    "grant": "\(grant)", "jti": "\(token.jti ?? "-")", "scope": "\(token.scope ?? "-")",
                    "expires_in": "\(Int(token.lifetime))",
                ])
        case .failure(let failure):
            lastFailure = failure
            consecutiveFailures += 1
            switch failure {
            case .credentialsRejected:
                nextAttemptAt = clock.now + config.rejectedRetrySeconds
                logger.error(
                    "credentials rejected by Covata; not retrying until the pause ends or config is reloaded",
                    metadata: ["reason": "\(failure.reason)", "retry_in_s": "\(Int(config.rejectedRetrySeconds))"])
            case .signInRequired:
                // Nothing to retry: only a new refresh token in the state file (or a reload) helps.
                nextAttemptAt = clock.now + Self.signInWait
                restartRefresher()
                logger.error(
                    "sign-in required; waiting for a new refresh token in the state file",
                    metadata: ["reason": "\(failure.reason)", "run": "\(loginCommand)"])
            case .grantRejected, .transient:
                let backoff = Backoff(initial: config.retryInitialSeconds, cap: config.retryMaxSeconds)
                let delay = backoff.delay(afterFailures: consecutiveFailures, random: random())
                nextAttemptAt = clock.now + delay
                logger.warning(
                    "token request failed; will retry",
                    metadata: [
                        "reason": "\(failure.reason)", "attempt": "\(consecutiveFailures)",
                        "retry_in_ms": "\(Int(delay * 1000))",
                    ])
            }
        }
    }

    /// Sleeps until the next refresh or retry is due, runs it, and repeats until cancelled.
    func refreshLoop() async {
        while !Task.isCancelled {
            if let running = flight {
                await running.value
                continue
            }
            let dueAt: Double
            if let token = current, isUsable(token) {
                dueAt = max(refreshAt(token), nextAttemptAt)
            } else {
                dueAt = nextAttemptAt
            }
            let wait = dueAt - clock.now
            if wait > 0 {
                // Re-evaluate at least every minute: a caller may have changed the state meanwhile. Waiting for a
                // sign-in, look at the state file every few seconds instead.
                let signingIn = lastFailure.map { if case .signInRequired = $0 { true } else { false } } ?? false
                let nap = min(wait, signingIn ? Self.statePollSeconds : 60)
                do { try await clock.sleep(seconds: nap) } catch { return }
                if signingIn { await adoptNewSignIn() }
                continue
            }
            startFlight()
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
