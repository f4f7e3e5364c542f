import Foundation
import NIOHTTP1

/// A complete answer the mock sends in one go.
struct MockResponse {
    var status: HTTPResponseStatus
    var headers: [(String, String)] = []
    var body: [UInt8] = []

    static func json(_ status: HTTPResponseStatus, _ object: Any, headers: [(String, String)] = []) -> MockResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return MockResponse(
            status: status, headers: [("Content-Type", "application/json;charset=UTF-8")] + headers, body: Array(data))
    }

    /// Spring Security OAuth2's error shape (`{"error","error_description"}`).
    static func oauthError(
        _ status: HTTPResponseStatus, _ error: String, _ description: String, headers: [(String, String)] = []
    ) -> MockResponse {
        json(
            status, ["error": error, "error_description": description],
            headers: headers + [("Cache-Control", "no-store"), ("Pragma", "no-cache")])
    }
}
