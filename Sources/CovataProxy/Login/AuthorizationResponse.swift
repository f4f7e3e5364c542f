import Foundation

/// What came back on the redirect (RFC 6749 §4.1.2): a code, or an error, and the state to check.
public struct AuthorizationResponse: Sendable, Equatable {
    public var code: String?
    public var state: String?
    public var error: String?
    public var errorDescription: String?

    /// From the redirect's query string.
    init(query: Substring) {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let value = String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            switch parts[0] {
            case "code": code = value
            case "state": state = value
            case "error": error = value.map(TokenResponse.sanitised)
            case "error_description": errorDescription = value.map(TokenResponse.sanitised)
            default: break
            }
        }
    }

    /// From what the operator pasted: the whole redirected URL (from the browser's address bar) or the bare code.
    public init?(pasted text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return nil }
        if let question = trimmed.firstIndex(of: "?") {
            self.init(query: trimmed[trimmed.index(after: question)...].split(separator: "#").first ?? "")
        } else if trimmed.contains("code=") || trimmed.contains("error=") {
            self.init(query: Substring(trimmed))
        } else {
            self.init(query: "")
            code = trimmed
        }
        guard code != nil || error != nil else { return nil }
    }

    /// Why this answer cannot be used for `request`, or nil when it can. A pasted bare code has no state to check:
    /// the operator carried it by hand.
    public func problem(for request: AuthorizationRequest) -> String? {
        if let state, state != request.state { return "the state does not match this sign-in; start again" }
        if let error { return "Covata refused the sign-in: \(error)\(errorDescription.map { " (\($0))" } ?? "")" }
        if code?.isEmpty ?? true { return "the answer carries no code" }
        return nil
    }
}
