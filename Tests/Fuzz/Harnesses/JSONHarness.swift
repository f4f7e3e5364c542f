import Foundation

@testable import CovataProxy
@testable import ProxyConfiguration

/// The config reader: the strict JSON parser against Foundation's, and the whole `proxy.json` validation.
enum JSONHarness {
    /// Our parser agrees with `JSONSerialization` (both accept or both refuse; equal values when both accept),
    /// except where ours is stricter on purpose, and then the input must really have what ours names.
    static func json(_ bytes: [UInt8]) throws(OracleFailure) {
        let ours: Result<JSONValue, ConfigError>
        do throws(ConfigError) { ours = .success(try JSONValue.parse(bytes)) } catch { ours = .failure(error) }
        let theirs = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        switch (ours, theirs) {
        case (.success(let value), let theirs?):
            try require(same(value, theirs), "the parsers read different values")
        case (.success, nil):
            throw OracleFailure("accepted a document Foundation refuses")
        case (.failure(let error), nil):
            try syntaxErrorHasPosition(error, bytes)
        case (.failure(let error), _?):
            try syntaxErrorHasPosition(error, bytes)
            // Foundation is lenient about trailing commas and NUL bytes after a document, keeps the last of two
            // equal keys, and nests to 512.
            if error.message.contains("duplicate key") { return }
            if bytes.contains(0) { return }
            if error.message.contains("nested too deeply") { return }
            if error.message.contains("trailing comma") {
                try require(hasTrailingComma(bytes), "claimed a trailing comma where there is none")
                return
            }
            throw OracleFailure("refused a document Foundation accepts: \(error)")
        }
    }

    /// A syntax error names a line and column inside the document.
    private static func syntaxErrorHasPosition(_ error: ConfigError, _ bytes: [UInt8]) throws(OracleFailure) {
        guard error.message.hasPrefix("not valid JSON at line") || error.message.hasPrefix("duplicate key at line")
        else { return }
        let numbers = error.message.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        let lines = bytes.count(where: { $0 == 0x0A }) + 1
        try require(numbers.count >= 2 && (1...lines).contains(numbers[0]), "a syntax error without its line: \(error)")
    }

    /// `,` then JSON whitespace then `]` or `}`, somewhere (strings are not told apart: a claim, not a proof).
    private static func hasTrailingComma(_ bytes: [UInt8]) -> Bool {
        var afterComma = false
        for byte in bytes {
            switch byte {
            case UInt8(ascii: ","): afterComma = true
            case 0x20, 0x09, 0x0A, 0x0D: continue
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                if afterComma { return true }
                afterComma = false
            default: afterComma = false
            }
        }
        return false
    }

    private static func same(_ ours: JSONValue, _ theirs: Any) -> Bool {
        switch ours {
        case .null: return theirs is NSNull
        case .bool(let value):
            guard let number = theirs as? NSNumber, String(cString: number.objCType) == "c" else { return false }
            return number.boolValue == value
        case .number(let value):
            guard let number = theirs as? NSNumber, String(cString: number.objCType) != "c" else { return false }
            // Through the decimal text: beyond 64 bits Foundation makes a decimal number, whose `doubleValue`
            // rounds differently from the nearest double.
            return Double(number.description) == value
        case .string(let value):
            guard let text = theirs as? String else { return false }
            // Scalars, not Characters: String's == would call canonically equivalent texts equal. Foundation drops
            // a U+FEFF inside a string (a byte order mark only belongs at the start of a text); ours keeps it.
            let bom: Unicode.Scalar = "\u{FEFF}"
            return text.unicodeScalars.filter { $0 != bom } == value.unicodeScalars.filter { $0 != bom }
        case .array(let items):
            guard let others = theirs as? [Any], others.count == items.count else { return false }
            return zip(items, others).allSatisfy { same($0, $1) }
        case .object(let members):
            guard let others = theirs as? [String: Any], others.count == members.count else { return false }
            return members.allSatisfy { key, value in others[key].map { same(value, $0) } ?? false }
        }
    }

    /// Secrets the fuzzed configs can name by `{"env": …}`: no error message may ever carry them.
    static let environment = [
        "COVATA_CLIENT_SECRET": "fuzz-client-secret-0d1f",
        "COVATA_PASSWORD": "fuzz-password-7e2a",
        "EMPTY": "",
    ]

    /// The whole validation: any document gets a config or one error; an error never carries a secret, and a
    /// syntax error names its line and column.
    static func config(_ bytes: [UInt8]) throws(OracleFailure) {
        let outcome: Result<ProxyConfig, ConfigError>
        do throws(ConfigError) {
            outcome = .success(
                try ProxyConfig.parse(Data(bytes), environment: environment, baseDirectory: "/nonexistent"))
        } catch let refusal {
            outcome = .failure(refusal)
        }
        let error: ConfigError
        switch outcome {
        case .success(let config): return try require(!config.routes.isEmpty, "a config without routes")
        case .failure(let refusal): error = refusal
        }
        try syntaxErrorHasPosition(error, bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        for secret in environment.values where !secret.isEmpty && !text.contains(secret) {
            try require(!error.description.contains(secret), "an error message carries a secret: \(error)")
        }
    }
}
