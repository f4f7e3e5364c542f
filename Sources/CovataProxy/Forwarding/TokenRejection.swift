import CurlClient
import Foundation
import NIOCore

/// What the proxy takes from an upstream 401, which answered a request that carried the proxy's token: only what
/// cannot carry that token. Covata's 401s echo the token ("Invalid access token: eyJ…") in `error_description`, and
/// an answer can hide it anywhere (an encoded body, a reason phrase, a header, base64), so no search can take it out
/// reliably: the client gets the proxy's own 401 instead (`ProxyError.upstreamRefusedToken`), built from the
/// challenge's `error` code and `realm`, never from the description, the body or any other field.
struct TokenRejection: Sendable, Equatable {
    /// The error codes passed on (RFC 6750 §3.1, and Spring's `unauthorized` for a request it found no token in);
    /// anything else is named `unauthorized`, so the upstream chooses nothing the client sees.
    static let knownCodes: Set<String> = ["invalid_token", "invalid_request", "insufficient_scope", "unauthorized"]

    /// One of `knownCodes`.
    var error: String
    /// The challenge's realm, when it is short and plain (letters, digits, `-._ :/`).
    var realm: String?

    /// Reads an upstream 401: the Bearer challenge first, then the JSON body's `error` (Spring sends both).
    /// `token` is the bearer value the request carried: a realm that contains it is dropped.
    init(head: CurlResponseHead, body: ByteBuffer, token: String) {
        var error: String?
        var realm: String?
        for (name, value) in head.headers where name.lowercased() == "www-authenticate" {
            let parameters = Self.bearerParameters(value)
            error = error ?? parameters["error"]
            realm = realm ?? parameters["realm"]
        }
        if error == nil,
            let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        {
            error = object["error"] as? String
        }
        self.error = error.flatMap { Self.knownCodes.contains($0) ? $0 : nil } ?? "unauthorized"
        self.realm = realm.flatMap { realm in
            let plain = realm.utf8.count <= 64 && !realm.isEmpty && realm.utf8.allSatisfy(Self.isPlain)
            return plain && (token.isEmpty || !realm.contains(token)) ? realm : nil
        }
    }

    /// Whether the upstream said the token is invalid (expired, revoked, unknown): the reason to renew and replay.
    var isInvalidToken: Bool { error == "invalid_token" }

    /// The challenge the client gets (RFC 6750 §3): the realm and, for the codes RFC 6750 defines, the error.
    var challenge: String {
        var parameters: [String] = []
        if let realm { parameters.append("realm=\"\(realm)\"") }
        if error != "unauthorized" { parameters.append("error=\"\(error)\"") }
        return parameters.isEmpty ? "Bearer" : "Bearer " + parameters.joined(separator: ", ")
    }

    /// `name=value` and `name="value"` parameters of a Bearer challenge, names lowercased (RFC 9110 §11.2).
    static func bearerParameters(_ field: String) -> [String: String] {
        let trimmed = field.drop { $0 == " " }
        guard trimmed.lowercased().hasPrefix("bearer") else { return [:] }
        var parameters: [String: String] = [:]
        var rest = Substring(trimmed.dropFirst("bearer".count))
        while let equals = rest.firstIndex(of: "=") {
            let name = rest[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: " ,")).lowercased()
            rest = rest[rest.index(after: equals)...]
            let value: Substring
            if rest.first == "\"" {
                rest = rest.dropFirst()
                guard let close = rest.firstIndex(of: "\"") else { break }
                value = rest[..<close]
                rest = rest[rest.index(after: close)...]
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end]
                rest = rest[end...]
            }
            if parameters[name] == nil { parameters[name] = String(value).trimmingCharacters(in: .whitespaces) }
        }
        return parameters
    }

    private static func isPlain(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: " "), UInt8(ascii: ":"), UInt8(ascii: "/"):
            true
        default:
            false
        }
    }
}
