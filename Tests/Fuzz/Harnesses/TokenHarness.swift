import Foundation

@testable import CovataProxy
@testable import ProxyConfiguration

/// What Covata's token endpoint answers, and what the state file holds: both are bytes from outside.
enum TokenHarness {
    static let statuses = [200, 200, 200, 400, 401, 403, 408, 429, 500, 503, 302, 0]
    static let grants: [TokenGrant] = [
        .password(username: "svc", password: Secret("pw")), .refreshToken(Secret("refresh-token-in-flight")),
        .authorizationCode(code: Secret("code"), redirectURI: "http://127.0.0.1:9/cb", codeVerifier: nil),
    ]

    /// First byte: status and grant; the rest: the body. A token is exactly the `access_token` Foundation reads, with
    /// a finite lifetime; a refusal's reason never carries a token from the body.
    static func response(_ bytes: [UInt8]) throws(OracleFailure) {
        guard let first = bytes.first else { return }
        let status = statuses[Int(first) % statuses.count]
        let grant = grants[Int(first >> 4) % grants.count]
        let body = Array(bytes.dropFirst())
        let now = 1_000.0
        let result = TokenResponse.interpret(
            TokenHTTPResponse(status: status, body: body), grant: grant, obtainedAt: now, wallClock: 1.8e9,
            defaultLifetime: 300)
        let theirs = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        switch result {
        case .success(let token):
            try require(status == 200, "a token from an HTTP \(status) answer")
            try require(token.lifetime.isFinite && token.lifetime >= 0, "a token lifetime of \(token.lifetime)")
            try require(token.expiresAt.isFinite, "a token that expires at \(token.expiresAt)")
            if let theirs {
                try require(
                    theirs["access_token"] as? String == token.value.value, "a token Foundation reads otherwise")
            }
        case .failure(let failure):
            for key in ["access_token", "refresh_token"] {
                // A real token is long; a short one ("bearer") may be a word of a fixed reason.
                guard let secret = theirs?[key] as? String, secret.count >= 16 else { continue }
                try require(!failure.reason.contains(secret), "a refusal's reason carries the \(key)")
            }
        }
    }

    static let stateKey = try! StateKey(
        base64: Secret("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="), keyPath: "oauth.stateKey")

    /// Any bytes read as a state file, plain and with a key: a state or a reason, and a state read back writes out
    /// and reads again as itself (sealed too); a reason never carries a token from the file.
    static func stateFile(_ bytes: [UInt8]) throws(OracleFailure) {
        for key in [nil, stateKey] {
            let file = TokenStateFile(StateFileConfig(path: "/nonexistent/state.json", key: key))
            switch file.decode(Data(bytes)) {
            case .state(let state):
                guard let written = file.encode(state) else {
                    throw OracleFailure("a state read that cannot be written")
                }
                guard case .state(let again) = file.decode(Data(written)) else {
                    throw OracleFailure("a state written that does not read back")
                }
                try require(again == state, "a state that reads back otherwise")
            case .unusable(let reason), .unsafe(let reason):
                let text = String(decoding: bytes, as: UTF8.self)
                // A token that is a piece of a fixed reason's own words ("ata-proxy token state") proves nothing.
                for token in tokens(in: text) where !fixedReasons.contains(where: { $0.contains(token) }) {
                    try require(!reason.contains(token), "a reason carries a token")
                }
            case .missing:
                throw OracleFailure("bytes read as a missing file")
            }
        }
    }

    /// The state file reader's reasons, as written in `TokenStateFile.decode`.
    static let fixedReasons = [
        "not a covata-proxy token state file", "unknown version", "neither a state nor a sealed state",
        "it is encrypted and no oauth.stateKey is configured", "it cannot be decrypted with the configured oauth.stateKey",
    ]

    /// Values of the state's token fields in a JSON text, wherever they nest.
    private static func tokens(in text: String) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else { return [] }
        var found: [String] = []
        func walk(_ value: Any) {
            if let dictionary = value as? [String: Any] {
                for (key, item) in dictionary {
                    if ["accessToken", "refreshToken"].contains(key), let string = item as? String, string.count >= 6 {
                        found.append(string)
                    }
                    walk(item)
                }
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        walk(object)
        return found
    }
}
