import Foundation

/// `/__mock/…`: the switches tests and trials use (counts, revocation, faults). Not part of Covata's API.
struct MockControls {
    let state: MockState

    func respond(to request: MockRequest) -> MockResponse {
        switch (request.head.method, request.path) {
        case (.GET, "/__mock/stats"):
            let counters = state.tokenCounters
            return .json(
                .ok,
                [
                    "tokenRequests": [
                        "password": state.tokenRequests(grant: "password"),
                        "refresh_token": state.tokenRequests(grant: "refresh_token"),
                        "authorization_code": state.tokenRequests(grant: "authorization_code"),
                    ],
                    "apiRequests": state.apiRequests,
                    "tokensMinted": counters.minted,
                    "currentTokenReturned": counters.currentTokenReturned,
                    "removedByRefresh": counters.removedByRefresh,
                    "resourceRefusals": counters.resourceRefusals,
                ])
        case (.POST, "/__mock/revoke"):
            state.revokeAll(includingRefreshTokens: request.query("refresh") == "1")
            return .json(.ok, ["revoked": true])
        case (.POST, "/__mock/fault"):
            guard let fault = parseFault(request) else {
                return .json(.badRequest, ["error": "expected mode=none|status|garbage|truncated|hang|delay|tokenType"])
            }
            state.setFault(fault)
            return .json(.ok, ["fault": "\(fault)"])
        case (.POST, "/__mock/lifetime"):
            guard let seconds = Double(request.query("seconds") ?? "") else {
                return .json(.badRequest, ["error": "expected seconds=N"])
            }
            state.setTokenLifetime(seconds)
            return .json(.ok, ["lifetime": seconds])
        default:
            return .json(.notFound, ["error": "unknown control"])
        }
    }

    private func parseFault(_ request: MockRequest) -> MockFault? {
        switch request.query("mode") {
        case "none": MockFault.none
        case "status": Int(request.query("status") ?? "500").map(MockFault.status)
        case "garbage": .garbage
        case "truncated": .truncated
        case "hang": .hang
        case "delay": Double(request.query("seconds") ?? "1").map(MockFault.delay)
        case "tokenType": .tokenType(request.query("type") ?? "mac")
        default: nil
        }
    }
}
