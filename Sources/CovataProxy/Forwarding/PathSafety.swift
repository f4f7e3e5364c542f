/// Request paths that could leave a route's base path once some server decodes or normalises them.
enum PathSafety {
    /// Bytes that must not come out of a percent-encoding: `.`, `/`, `\`, NUL, CR and LF, each a known way past a
    /// prefix check once some server decodes them (RFC 3986 §2.4, §7.3), and `%` itself (double encoding).
    private static let refusedDecodings: [UInt8] = [0x2E, 0x2F, 0x5C, 0x00, 0x0A, 0x0D, 0x25]

    /// Characters a lenient decoder or a Unicode-normalising server turns into `.`, `/` or `\`: full-width and
    /// other look-alike dots and slashes.
    private static let lookAlikes: Set<UInt32> = [
        0xFF0E, 0xFF0F, 0xFF3C, 0x2024, 0x2044, 0x2215, 0x2216, 0x29F5, 0x29F8, 0x29F9, 0xFE52, 0xFE68, 0x3002,
    ]

    /// Why `path` is refused, or nil. One pass over the bytes decides for the usual path (no `%`, `\` or `/.`).
    /// Encodings are judged by rule, not by a list of known tricks: a `%` must be followed by two hex digits, must
    /// not encode `%` or one of the bytes above, and what the whole path decodes to must be valid UTF-8 (no overlong
    /// forms) without look-alike dots and slashes.
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
        if hasPercent, let problem = encodingProblem(in: Array(path.utf8)) { return problem }
        if hasDotSegmentStart {
            for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
                // `..;x` and `.;x` are dot segments to servers that strip path parameters.
                let bare = segment.prefix { $0 != ";" }
                if bare == "." || bare == ".." { return "dot segments (. and ..) are not allowed in the path" }
            }
        }
        return nil
    }

    private static func encodingProblem(in bytes: [UInt8]) -> String? {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "%") else {
                decoded.append(bytes[index])
                index += 1
                continue
            }
            guard index + 2 < bytes.count, let high = bytes[index + 1].hexDigitValue,
                let low = bytes[index + 2].hexDigitValue
            else { return "a % in the path must be followed by two hex digits" }
            let byte = high << 4 | low
            if refusedDecodings.contains(byte) {
                let shown = String(decoding: bytes[index..<index + 3], as: UTF8.self).lowercased()
                return "the encoding \(shown) is not allowed in the path"
            }
            decoded.append(byte)
            index += 3
        }
        guard let text = String(validating: decoded, as: UTF8.self) else {
            return "the path decodes to bytes that are not UTF-8 (such as an overlong encoding)"
        }
        if text.unicodeScalars.contains(where: { lookAlikes.contains($0.value) }) {
            return "the path decodes to a look-alike of a dot or slash"
        }
        return nil
    }

    /// Whether `path` is `prefix` or below it, on segment boundaries (`/api/v1` does not cover `/api/v10`).
    static func path(_ path: Substring, isUnder prefix: String) -> Bool {
        guard path.hasPrefix(prefix) else { return false }
        return prefix.hasSuffix("/") || path.count == prefix.count || path.dropFirst(prefix.count).hasPrefix("/")
    }
}
