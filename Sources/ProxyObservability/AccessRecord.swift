/// The access log's fields, typed, as one metadata value (`"request": .stringConvertible(record)`): building a
/// dictionary of twelve values per request, and finding each number's type again when writing it, cost more than
/// the rest of the line. `LogLine` writes these fields straight into its buffer as top-level members; any other log
/// handler gets `description`, the same fields as `key=value` text.
/// A class, so the writer takes it out of the metadata with a pointer check instead of copying twelve fields.
public final class AccessRecord: Sendable, CustomStringConvertible {
    package let route: String
    /// The client's IP address, or `unix`.
    package let client: String
    package let method: String
    /// The request-target with query values removed.
    package let path: String
    package let status: Int
    /// The proxy's own error code when it answered itself.
    package let error: String?
    package let bytesIn: Int64
    package let bytesOut: Int64
    package let durationMilliseconds: Double
    /// To the upstream's answer head; nil when nothing was sent upstream.
    package let upstreamMilliseconds: Double?
    package let replayed: Bool
    package let jti: String?

    package init(
        route: String, client: String, method: String, path: String, status: Int, error: String?, bytesIn: Int64,
        bytesOut: Int64, durationMilliseconds: Double, upstreamMilliseconds: Double?, replayed: Bool, jti: String?
    ) {
        self.route = route
        self.client = client
        self.method = method
        self.path = path
        self.status = status
        self.error = error
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.durationMilliseconds = durationMilliseconds
        self.upstreamMilliseconds = upstreamMilliseconds
        self.replayed = replayed
        self.jti = jti
    }

    /// What `writeJSONMembers` can write at most: 135 bytes of keys and the boolean, five numbers and the strings.
    var jsonMembersBound: Int {
        func string(_ value: String?) -> Int { value.map(ByteWriter.jsonStringBound) ?? 0 }
        let strings = string(route) + string(client) + string(method) + string(path) + string(error) + string(jti)
        return 135 + 5 * ByteWriter.numberBound + strings
    }

    /// `,"route":"…",…` after the line's fixed members; optional fields only when present.
    func writeJSONMembers(to out: inout ByteWriter) {
        out.bytes(#","route":"#)
        out.jsonString(route)
        out.bytes(#","client":"#)
        out.jsonString(client)
        out.bytes(#","method":"#)
        out.jsonString(method)
        out.bytes(#","path":"#)
        out.jsonString(path)
        out.bytes(#","status":"#)
        out.integer(Int64(status))
        if let error {
            out.bytes(#","error":"#)
            out.jsonString(error)
        }
        out.bytes(#","bytes_in":"#)
        out.integer(bytesIn)
        out.bytes(#","bytes_out":"#)
        out.integer(bytesOut)
        out.bytes(#","duration_ms":"#)
        out.milliseconds(durationMilliseconds)
        if let upstreamMilliseconds {
            out.bytes(#","upstream_ms":"#)
            out.milliseconds(upstreamMilliseconds)
        }
        out.bytes(replayed ? #","replayed":true"# : #","replayed":false"#)
        if let jti {
            out.bytes(#","jti":"#)
            out.jsonString(jti)
        }
    }

    /// The fields as `key=value` pairs, values quoted where they would split the line.
    public var description: String {
        var pairs: [(String, String)] = [
            ("route", route), ("client", client), ("method", method), ("path", path),
            ("status", "\(status)"),
        ]
        if let error { pairs.append(("error", error)) }
        pairs += [("bytes_in", "\(bytesIn)"), ("bytes_out", "\(bytesOut)"), ("duration_ms", "\(durationMilliseconds)")]
        if let upstreamMilliseconds { pairs.append(("upstream_ms", "\(upstreamMilliseconds)")) }
        pairs.append(("replayed", "\(replayed)"))
        if let jti { pairs.append(("jti", jti)) }
        var out: [UInt8] = []
        for (index, (key, value)) in pairs.enumerated() {
            if index > 0 { out.append(UInt8(ascii: " ")) }
            out.append(contentsOf: key.utf8)
            out.append(UInt8(ascii: "="))
            LogLine.appendText(value, to: &out)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
