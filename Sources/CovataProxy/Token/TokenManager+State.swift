import NIOPosix

/// The token state file: restored at start, written after every token operation, watched while signed out.
extension TokenManager {
    /// How long "sign-in required" lasts without a new refresh token: in effect, until one appears.
    static let signInWait: Double = 86400 * 365
    /// How often the state file is looked at while waiting for `covata-proxy login`.
    static let statePollSeconds: Double = 2

    /// Takes the refresh token and, while it is valid, the access token from the state file, so a restart within
    /// the token's lifetime makes no token request at all. A corrupt or foreign file is reported and ignored.
    func restoreSavedState() async {
        guard let state = await loadState(reportingProblems: true) else { return }
        adopt(state)
    }

    /// Takes over a state read from the file.
    private func adopt(_ state: TokenState) {
        refreshToken = state.refreshToken
        if let value = state.accessToken, let expiresAt = state.accessTokenExpiresAt {
            let remaining = expiresAt - wallClock()
            let lifetime = max(state.accessTokenLifetime ?? remaining, remaining)
            let restored = AccessToken(
                value: value, refreshToken: nil, jti: state.jti, scope: state.scope, lifetime: lifetime,
                obtainedAt: clock.now - (lifetime - remaining))
            if isUsable(restored) { current = restored }
        }
        logger.info(
            "token state restored",
            metadata: [
                "path": "\(stateFile?.path ?? "-")", "access_token": current == nil ? "expired" : "valid",
                "refresh_token": refreshToken == nil ? "none" : "present", "jti": "\(current?.jti ?? "-")",
            ])
    }

    /// Writes the current tokens. A failure is logged and the proxy carries on: tokens in memory still work.
    @discardableResult
    func persist() async -> Bool {
        guard let stateFile, let current else { return false }
        var username: String?
        if case .password(let name, _) = config.signIn { username = name }
        let state = TokenState(
            tokenURL: config.tokenURL, clientID: config.clientID, username: username, refreshToken: refreshToken,
            accessToken: current.value, accessTokenExpiresAt: wallClock() + (current.expiresAt - clock.now),
            accessTokenLifetime: current.lifetime, jti: current.jti, scope: current.scope)
        let problem: String?
        do {
            problem = try await NIOThreadPool.singleton.runIfActive { stateFile.save(state) }
        } catch {
            problem = "the file thread pool is shut down"
        }
        if let problem {
            logger.error(
                "cannot write token state file", metadata: ["path": "\(stateFile.path)", "reason": "\(problem)"])
            return false
        }
        logger.debug("token state saved", metadata: ["path": "\(stateFile.path)", "jti": "\(current.jti ?? "-")"])
        return true
    }

    /// The refresh token in the state file now, if it is ours.
    func storedRefreshToken() async -> Secret? {
        await loadState(reportingProblems: false)?.refreshToken
    }

    /// While signed out: a refresh token that `covata-proxy login` stored since Covata refused ours ends the wait.
    func adoptNewSignIn() async {
        guard let state = await loadState(reportingProblems: false), let stored = state.refreshToken,
            stored != rejectedRefreshToken, stored != refreshToken
        else { return }
        logger.notice("new refresh token found in the state file", metadata: ["path": "\(stateFile?.path ?? "-")"])
        adopt(state)
        lastFailure = nil
        consecutiveFailures = 0
        nextAttemptAt = 0
    }

    private func loadState(reportingProblems: Bool) async -> TokenState? {
        guard let stateFile else { return nil }
        let loaded: TokenStateFile.Loaded
        do {
            // Crash debris is cleared once, at start, not on every look while waiting for a sign-in.
            loaded = try await NIOThreadPool.singleton.runIfActive {
                stateFile.load(removingLeftovers: reportingProblems)
            }
        } catch {
            return nil
        }
        let reason: String
        switch loaded {
        case .missing:
            if reportingProblems {
                logger.info("no token state file yet", metadata: ["path": "\(stateFile.path)"])
            }
            return nil
        case .unusable(let problem):
            reason = problem
        case .state(let state):
            guard let mismatch = state.mismatch(with: config) else { return state }
            reason = mismatch
        }
        if reportingProblems {
            logger.warning(
                "token state file ignored; signing in afresh",
                metadata: ["path": "\(stateFile.path)", "reason": "\(reason)"])
        }
        return nil
    }
}
