import CurlClient
import Logging
import NIOPosix
import ProxyConfiguration

/// The token state file (restored at start, written after every token operation, polled while signed out) and the
/// one-shot commands built on it.
extension TokenManager {
    /// The tokens in the state file, if it passes its checks and belongs to this config. A corrupt, foreign or unsafe
    /// file is reported (once, at start) and ignored, never adopted.
    func loadStored(reportingProblems: Bool) async -> TokenLifecycle.Stored? {
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
            if reportingProblems { logger.info("no token state file yet", metadata: ["path": "\(stateFile.path)"]) }
            return nil
        case .unusable(let problem):
            reason = problem
        case .unsafe(let problem):
            // Worth a line on every look, not only at start: someone may be planting a token.
            logger.warning(
                "token state file ignored: unsafe", metadata: ["path": "\(stateFile.path)", "reason": "\(problem)"])
            return nil
        case .state(let state):
            guard let mismatch = state.mismatch(with: config) else {
                let stored = stored(from: state)
                if reportingProblems {
                    logger.info(
                        "token state restored",
                        metadata: [
                            "path": "\(stateFile.path)", "access_token": stored.accessToken == nil ? "none" : "present",
                            "refresh_token": stored.refreshToken == nil ? "none" : "present",
                            "jti": "\(stored.accessToken?.jti ?? "-")",
                        ])
                }
                return stored
            }
            reason = mismatch
        }
        if reportingProblems {
            logger.warning(
                "token state file ignored; signing in afresh",
                metadata: ["path": "\(stateFile.path)", "reason": "\(reason)"])
        }
        return nil
    }

    /// The file's access token is converted from wall time to the token clock.
    private func stored(from state: TokenState) -> TokenLifecycle.Stored {
        var token: AccessToken?
        if let value = state.accessToken, let expiresAt = state.accessTokenExpiresAt {
            let remaining = expiresAt - wallClock()
            let lifetime = max(state.accessTokenLifetime ?? remaining, remaining)
            token = AccessToken(
                value: value, refreshToken: nil, jti: state.jti, scope: state.scope, lifetime: lifetime,
                obtainedAt: clock.now - (lifetime - remaining))
        }
        return TokenLifecycle.Stored(accessToken: token, refreshToken: state.refreshToken)
    }

    /// Queues a write of the tokens behind any earlier one. A failure is logged and the proxy carries on: tokens in
    /// memory still work.
    func persist(_ token: AccessToken, refreshToken: Secret?) {
        guard let stateFile else { return }
        let state = TokenState(
            tokenURL: config.tokenURL.text, clientID: config.clientID, username: config.signIn.username,
            refreshToken: refreshToken, accessToken: token.value,
            accessTokenExpiresAt: wallClock() + (token.expiresAt - clock.now), accessTokenLifetime: token.lifetime,
            jti: token.jti, scope: token.scope)
        let previous = persisting
        let logger = logger
        persisting = Task {
            _ = await previous?.value
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
            logger.debug("token state saved", metadata: ["path": "\(stateFile.path)", "jti": "\(token.jti ?? "-")"])
            return true
        }
    }
}
