import Testing

@testable import CovataMock

/// covata-mock's two token stores as values: Spring's `DefaultTokenServices` semantics, and the independent default.
@Suite struct MockTokenStoreTests {
    static func store(_ kind: MockTokenStoreKind, refreshLifetime: Double = 1000) -> MockTokenStore {
        MockTokenStore(kind: kind, accessLifetime: 10, refreshLifetime: refreshLifetime, issuesRefreshTokens: true)
    }

    /// Numbered tokens, so a test can tell them apart.
    final class Mints {
        var count = 0
        func mint(_ scope: String, _ expiresAt: Double) -> (token: String, jti: String) {
            count += 1
            return ("at\(count)", "jti\(count)")
        }
    }

    @Test func springHandsBackTheCurrentTokenUntilItExpires() {
        var store = Self.store(.spring)
        let mints = Mints()
        let first = store.signIn(client: "c", username: "u", scope: "s", now: 0, mint: mints.mint)
        #expect(first.expiresIn == 9)
        let again = store.signIn(client: "c", username: "u", scope: "s", now: 6.5, mint: mints.mint)
        #expect(again.access == first.access)
        #expect(again.refresh == first.refresh)
        #expect(again.expiresIn == 3)
        #expect(store.counters.currentTokenReturned == 1)
        // Less than a second left still counts as valid: Spring says expires_in 0.
        #expect(store.signIn(client: "c", username: "u", scope: "s", now: 9.5, mint: mints.mint).expiresIn == 0)
        // Expired: a new access token, the same refresh token.
        let renewed = store.signIn(client: "c", username: "u", scope: "s", now: 10, mint: mints.mint)
        #expect(renewed.access != first.access)
        #expect(renewed.refresh == first.refresh)
        #expect(store.check(first.access, now: 10) == .unknown)
        #expect(store.check(renewed.access, now: 10) == .valid)
        // Another scope is another authentication: its own token.
        #expect(
            store.signIn(client: "c", username: "u", scope: "t", now: 10, mint: mints.mint).access != renewed.access)
    }

    @Test func springRefreshRemovesEveryAccessTokenOfThatRefreshToken() {
        var store = Self.store(.spring)
        let mints = Mints()
        let first = store.signIn(client: "c", username: "u", scope: "s", now: 0, mint: mints.mint)
        let refresh = try! #require(first.refresh)
        guard case .issued(let second) = store.refresh(refresh, now: 1, mint: mints.mint) else {
            Issue.record("refresh refused")
            return
        }
        #expect(second.refresh == refresh)  // reused, as Spring does by default
        #expect(store.check(first.access, now: 1) == .unknown)
        #expect(store.check(second.access, now: 1) == .valid)
        guard case .issued(let third) = store.refresh(refresh, now: 2, mint: mints.mint) else {
            Issue.record("refresh refused")
            return
        }
        #expect(store.check(second.access, now: 2) == .unknown)
        #expect(store.counters.removedByRefresh == 2)
        // The password grant now answers with what the last refresh made.
        #expect(store.signIn(client: "c", username: "u", scope: "s", now: 3, mint: mints.mint).access == third.access)
        #expect(store.refresh("rt-unknown", now: 3, mint: mints.mint).isUnknown)
    }

    @Test func springExpiredRefreshTokenIsRefusedAndStillRemovesItsAccessTokens() {
        var store = Self.store(.spring, refreshLifetime: 5)
        let mints = Mints()
        let first = store.signIn(client: "c", username: "u", scope: "s", now: 0, mint: mints.mint)
        guard case .expired = store.refresh(first.refresh!, now: 6, mint: mints.mint) else {
            Issue.record("an expired refresh token was accepted")
            return
        }
        #expect(store.check(first.access, now: 6) == .unknown)
    }

    @Test func signOutEverywhereKeepsAccessTokensAlive() {
        var store = Self.store(.spring)
        let mints = Mints()
        let first = store.signIn(client: "c", username: "u", scope: "s", now: 0, mint: mints.mint)
        store.signOutEverywhere(username: "u")
        #expect(store.check(first.access, now: 1) == .valid)
        #expect(store.refresh(first.refresh!, now: 1, mint: mints.mint).isUnknown)
        // Until it expires the password grant hands back the same token, refresh token and all.
        #expect(store.signIn(client: "c", username: "u", scope: "s", now: 2, mint: mints.mint).access == first.access)
    }

    @Test func expiredTokensAreNamedAsSuch() {
        var spring = Self.store(.spring)
        var independent = Self.store(.independent)
        let mints = Mints()
        let a = spring.signIn(client: "c", username: "u", scope: "s", now: 0, mint: mints.mint)
        let b = independent.signIn(client: "c", username: "u", scope: "s", now: 0, mint: mints.mint)
        #expect(spring.check(a.access, now: 11) == .expired)
        #expect(spring.check(a.access, now: 11) == .unknown)  // Spring removed it as it refused it
        #expect(independent.check(b.access, now: 11) == .unknown)
        #expect(spring.counters.resourceRefusals == 2)
    }

    @Test func independentMintsAFreshTokenEveryTimeAndRotatesRefreshTokens() {
        var store = Self.store(.independent)
        let mints = Mints()
        let first = store.signIn(client: "c", username: "u", scope: "s", now: 0, mint: mints.mint)
        let second = store.signIn(client: "c", username: "u", scope: "s", now: 1, mint: mints.mint)
        #expect(first.access != second.access)
        #expect(store.check(first.access, now: 1) == .valid)
        guard case .issued(let third) = store.refresh(first.refresh!, now: 2, mint: mints.mint) else {
            Issue.record("refresh refused")
            return
        }
        #expect(third.refresh != first.refresh)
        #expect(store.refresh(first.refresh!, now: 2, mint: mints.mint).isUnknown)
        #expect(store.check(first.access, now: 2) == .valid)
        #expect(store.counters.currentTokenReturned == 0)
    }
}

extension MockTokenStore.Refreshed {
    var isUnknown: Bool {
        if case .unknown = self { return true }
        return false
    }
}
