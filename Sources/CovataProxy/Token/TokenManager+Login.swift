extension TokenManager {
    /// Exchanges the code from a sign-in for tokens and stores them in the state file, for `covata-proxy login`.
    /// Succeeds only when Covata also issued a refresh token: without one the proxy could not run unattended.
    public func completeSignIn(code: String, request: AuthorizationRequest) async -> Result<AccessToken, LoginError> {
        let grant = request.grant(code: code)
        let startedAt = clock.now
        let outcome = await self.request(grant)
        record(outcome.map { ($0, grant) }, startedAt: startedAt)
        switch outcome {
        case .success(let token):
            guard token.refreshToken != nil else {
                return .failure(
                    LoginError(
                        "Covata issued no refresh token: the client application needs the refresh_token grant type"))
            }
            guard await persist() else {
                return .failure(LoginError("the token state file could not be written; see the log above"))
            }
            return .success(token)
        case .failure(let failure):
            return .failure(LoginError("the code exchange failed: \(failure.reason)"))
        }
    }
}
