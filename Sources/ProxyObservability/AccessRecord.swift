import Foundation
import ProxySupport

/// The access log's fields, typed: building a dictionary of twelve values per request, and finding each number's
/// type again when writing it, cost more than the rest of the line. `LogLine` writes these fields straight into its
/// buffer as top-level members; `description` is the same fields as `key=value` text.
/// A class, so a line carries it by reference instead of copying twelve fields.
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
        func string(_ key: StaticString, _ value: String?) {
            guard let value else { return }
            out.write(key)
            out.jsonString(value)
        }
        func number(_ key: StaticString, _ value: Int64) {
            out.write(key)
            out.integer(value)
        }
        func milliseconds(_ key: StaticString, _ value: Double?) {
            guard let value else { return }
            out.write(key)
            out.milliseconds(value)
        }
        string(#","route":"#, route)
        string(#","client":"#, client)
        string(#","method":"#, method)
        string(#","path":"#, path)
        number(#","status":"#, Int64(status))
        string(#","error":"#, error)
        number(#","bytes_in":"#, bytesIn)
        number(#","bytes_out":"#, bytesOut)
        milliseconds(#","duration_ms":"#, durationMilliseconds)
        milliseconds(#","upstream_ms":"#, upstreamMilliseconds)
        out.write(replayed ? #","replayed":true"# : #","replayed":false"#)
        string(#","jti":"#, jti)
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

/// Where each request's access line goes. In the running proxy, straight to the log writer as an `info` line, not
/// through swift-log: its metadata dictionary and two handler hops cost ~2,500 instructions a request, a sixth of
/// the log's cost (nginx keeps `access_log` beside `error_log` the same way). Made by the entry point, like the
/// loggers.
public struct AccessLog: Sendable {
    private let sink: @Sendable (AccessRecord) -> Void

    /// Records go to `sink`, as they are.
    public init(_ sink: @escaping @Sendable (AccessRecord) -> Void) { self.sink = sink }

    /// Lines written by `writer` under `label`, while `admitsInfo` says the process's log level lets `info` through.
    public init(writer: LogWriter, label: String, admitsInfo: @escaping @Sendable () -> Bool) {
        self.sink = { record in
            guard admitsInfo() else { return }
            writer.enqueue(
                LogLine(
                    timestamp: Date().timeIntervalSince1970, level: .info, message: "request", label: label,
                    metadata: [:], record: record))
        }
    }

    package func write(_ record: AccessRecord) { sink(record) }
}
