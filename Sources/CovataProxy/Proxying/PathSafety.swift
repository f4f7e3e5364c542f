/// Request paths that could leave a route's base path once some server decodes or normalises them.
enum PathSafety {
    /// Percent-encodings of `.`, `/`, `\`, NUL, CR and LF, also double-encoded (`%25…`): legitimate Covata paths have
    /// no need for them, and each is a known way past a prefix check (RFC 3986 §2.4, §7.3).
    private static let refusedEncodings = ["%2e", "%2f", "%5c", "%00", "%0a", "%0d", "%252e", "%252f", "%255c"]

    /// Why `path` is refused, or nil. One pass over the bytes decides for the usual path (no `%`, `\` or `/.`).
    static func problem(in path: Substring) -> String? {
        var hasPercent = false
        var hasDotSegmentStart = false
        var previous: UInt8 = 0
        for byte in path.utf8 {
            if byte == UInt8(ascii: "\\") { return "backslashes are not allowed in the path" }
            if byte == UInt8(ascii: "%") { hasPercent = true }
            if byte == UInt8(ascii: "."), previous == UInt8(ascii: "/") { hasDotSegmentStart = true }
            previous = byte
        }
        if hasPercent {
            let lower = path.lowercased()
            if let encoding = refusedEncodings.first(where: { lower.contains($0) }) {
                return "the encoding \(encoding) is not allowed in the path"
            }
        }
        if hasDotSegmentStart {
            for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
                // `..;x` and `.;x` are dot segments to servers that strip path parameters.
                let bare = segment.prefix { $0 != ";" }
                if bare == "." || bare == ".." { return "dot segments (. and ..) are not allowed in the path" }
            }
        }
        return nil
    }

    /// Whether `path` is `prefix` or below it, on segment boundaries (`/api/v1` does not cover `/api/v10`).
    static func path(_ path: Substring, isUnder prefix: String) -> Bool {
        guard path.hasPrefix(prefix) else { return false }
        return prefix.hasSuffix("/") || path.count == prefix.count || path.dropFirst(prefix.count).hasPrefix("/")
    }
}
