import CovataMock
import Foundation
import Logging
import ProxySupport
import Synchronization
import Testing

@testable import CovataProxy
@testable import ProxyObservability

/// The log path: lines formatted by hand, written by one thread in batches, never blocking a caller.
@Suite struct LogLineTests {
    static func line(
        _ metadata: Logger.Metadata, record: AccessRecord? = nil, message: String = "request", at time: Double = 0
    ) -> LogLine {
        LogLine(
            timestamp: time, level: .info, message: message, label: "covata-proxy", metadata: metadata, record: record)
    }

    static func render(_ line: LogLine, _ style: LogLine.Style = .json) -> String {
        var bytes: [UInt8] = []
        line.write(style, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The hand-made timestamp agrees with Foundation's formatter across eras, leap days and millisecond edges.
    @Test func timestampsMatchFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        var random = SplitMix(seed: 42)
        let fixed: [Double] = [0, 951_782_400.999, 1_709_164_800.5, 4_102_444_799.999, 1_798_761_600.001]
        // The writer thread's cache of the last second, carried from each time to the next (a random time is a
        // new second; a second time within it reads the cache).
        var cache = TimestampCache()
        for time in fixed + (0..<2000).map({ _ in Double(random.next(4_102_444_800_000)) / 1000 }) {
            let expected = formatter.string(from: Date(timeIntervalSince1970: (time * 1000).rounded(.down) / 1000))
            #expect(Self.timestamp(time) == expected, "\(time)")
            #expect(Self.timestamp(time, cache: &cache) == expected, "\(time), cached")
            let later = (time * 1000).rounded(.down) / 1000 + Double(random.next(3)) * 0.4
            let laterExpected = formatter.string(from: Date(timeIntervalSince1970: later))
            #expect(Self.timestamp(later + 0.0001, cache: &cache) == laterExpected, "\(later), cached")
        }
    }

    static func timestamp(_ time: Double) -> String {
        var bytes: [UInt8] = []
        ByteWriter.append(to: &bytes, atMost: ByteWriter.timestampBound) { $0.timestamp(time) }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func timestamp(_ time: Double, cache: inout TimestampCache) -> String {
        var bytes: [UInt8] = []
        ByteWriter.append(to: &bytes, atMost: ByteWriter.timestampBound) { $0.timestamp(time, cache: &cache) }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func jsonKeepsNumbersAndBooleansAndEscapesStrings() throws {
        let text = Self.render(
            Self.line([
                "status": .stringConvertible(200), "duration_ms": .stringConvertible(1.25),
                "replayed": .stringConvertible(false), "path": .string("/a\"b\\c\n\u{1}é"),
                "bytes_in": .stringConvertible(Int64(7)),
            ]))
        #expect(text.hasSuffix("}\n"))
        #expect(text.contains(#""status":200"#))
        #expect(text.contains(#""duration_ms":1.25"#))
        #expect(text.contains(#""replayed":false"#))
        #expect(text.contains(#""bytes_in":7"#))
        let object = try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["path"] as? String == "/a\"b\\c\n\u{1}é")
        #expect(object["msg"] as? String == "request")
        #expect(object["ts"] as? String == "1970-01-01T00:00:00.000Z")
    }

    /// The access log's typed record becomes top-level members, numbers as numbers, absent fields left out.
    @Test func accessRecordIsWrittenAsTypedMembers() throws {
        let record = AccessRecord(
            route: "127.0.0.1:8080", client: "unix", method: "GET", path: "/a?b", status: 503,
            error: "token_unavailable", bytesIn: 0, bytesOut: 120, durationMilliseconds: 12.0004,
            upstreamMilliseconds: nil, replayed: true, jti: nil)
        let text = Self.render(Self.line([:], record: record))
        #expect(text.contains(#""status":503,"#))
        #expect(text.contains(#""duration_ms":12.000,"#))
        #expect(text.contains(#""replayed":true"#))
        #expect(!text.contains("upstream_ms"))
        #expect(!text.contains("jti"))
        let object = try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["error"] as? String == "token_unavailable")
        #expect(object["client"] as? String == "unix")
        #expect(
            Self.render(Self.line([:], record: record), .text).contains(
                "status=503 error=token_unavailable bytes_in=0 bytes_out=120 duration_ms=12.0004 replayed=true"))
    }

    /// The access line is composed in memory sized beforehand: the longest values each field can take (every byte a
    /// six-byte escape, the longest numbers Swift prints) still fit, and read back as they were.
    @Test func anAccessLineOfTheLongestValuesFitsItsBound() throws {
        let controls = String(repeating: "\u{1}\u{7F}", count: 300)
        let record = AccessRecord(
            route: controls, client: controls, method: controls, path: controls, status: Int.min, error: controls,
            bytesIn: .min, bytesOut: .max, durationMilliseconds: -2.2250738585072014e-308,
            upstreamMilliseconds: -.infinity, replayed: false, jti: controls)
        var line = Self.line([:], record: record, message: controls, at: 253_402_300_799.999)
        line.label = controls
        line.level = .critical
        let text = Self.render(line)
        let object = try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        for key in ["route", "client", "method", "path", "error", "jti", "msg", "logger"] {
            #expect(object[key] as? String == controls, "\(key)")
        }
        #expect(object["bytes_in"] as? Int64 == .min && object["bytes_out"] as? Int64 == .max)
        #expect(object["upstream_ms"] as? String == "-inf")
        #expect(object["ts"] as? String == "9999-12-31T23:59:59.999Z")
    }

    /// The eight-bytes-a-step escape search agrees with a byte loop over buffers of every length and offset, dense
    /// with the bytes it looks for and their neighbours (0x1F and 0x20, 0x21 and 0x23, 0x5B and 0x5D, 0x7E and 0x80).
    @Test func escapeSearchAgreesWithAByteLoop() {
        var random = SplitMix(seed: 31)
        let alphabet: [UInt8] = [0x00, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7E, 0x7F, 0x80, 0xFF, 0x61]
        for bytes in random.buffers(2_000, alphabet: alphabet) {
            bytes.withUnsafeBufferPointer { buffer in
                for start in 0...buffer.count {
                    let rest = UnsafeBufferPointer(rebasing: buffer[start...])
                    let expected = rest.contains(where: ByteWriter.needsEscape)
                    #expect(ByteWriter.needsEscaping(rest) == expected, "\(bytes) from \(start)")
                }
            }
        }
    }

    @Test func textQuotesValuesThatWouldSplitTheLine() {
        let text = Self.render(
            Self.line(["reason": .string("token endpoint answered HTTP 503"), "status": .stringConvertible(503)]),
            .text)
        #expect(
            text
                == #"1970-01-01T00:00:00.000Z info covata-proxy: request reason="token endpoint answered HTTP 503" status=503"#
                + "\n")
    }

    /// A full queue drops lines instead of blocking the caller, counts them, and the next batch says so.
    @Test func aFullQueueDropsCountsAndSaysSo() throws {
        let path = Shell.temporaryFile("log")
        FileManager.default.createFile(atPath: path, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let writer = LogWriter(style: .json, output: output, background: true, capacity: 10)
        var logger = Logger(label: "t") { ProxyLogHandler(label: $0, writer: writer) }
        logger.logLevel = .info
        for index in 0..<50_000 { logger.info("line", metadata: ["n": .stringConvertible(index)]) }
        writer.flush()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let written = lines.filter { $0.contains(#""msg":"line""#) }.count
        let dropNotes = lines.filter { $0.contains("log lines dropped") }
        let dropped = dropNotes.compactMap { line -> Int? in
            guard let range = line.range(of: #""dropped":"#) else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }.reduce(0, +)
        #expect(written + dropped == 50_000)
        #expect(dropped > 0)
    }

    /// The access log writes beside swift-log, but follows the process's level as its `info` lines did: nothing
    /// while the level is above `info`.
    @Test func theAccessLogFollowsTheLogLevel() throws {
        let path = Shell.temporaryFile("log")
        FileManager.default.createFile(atPath: path, contents: nil)
        let writer = LogWriter(
            style: .json, output: try FileHandle(forWritingTo: URL(fileURLWithPath: path)), background: true)
        let level = Mutex(Logger.Level.warning)
        let accessLog = AccessLog(writer: writer, label: "covata-proxy") { level.withLock { $0 } <= .info }
        func record(_ path: String) -> AccessRecord {
            AccessRecord(
                route: "r", client: "unix", method: "GET", path: path, status: 200, error: nil, bytesIn: 0,
                bytesOut: 2, durationMilliseconds: 1, upstreamMilliseconds: 1, replayed: false, jti: nil)
        }
        accessLog.write(record("/quiet"))
        level.withLock { $0 = .info }
        accessLog.write(record("/heard"))
        writer.flush()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1)
        let object = try #require(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["msg"] as? String == "request" && object["level"] as? String == "info")
        #expect(object["logger"] as? String == "covata-proxy" && object["path"] as? String == "/heard")
    }

    /// Every line handed over before `flush` is out after it, in order.
    @Test func flushWritesEverythingInOrder() throws {
        let path = Shell.temporaryFile("log")
        FileManager.default.createFile(atPath: path, contents: nil)
        let writer = LogWriter(
            style: .text, output: try FileHandle(forWritingTo: URL(fileURLWithPath: path)), background: true)
        let logger = Logger(label: "t") { ProxyLogHandler(label: $0, writer: writer) }
        for index in 0..<1000 { logger.info("line", metadata: ["n": .stringConvertible(index)]) }
        writer.flush()
        let numbers = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            Int($0.split(separator: "=").last!)!
        }
        #expect(numbers == Array(0..<1000))
    }

    /// The access log as an operator reads it, from the real binary: one JSON object per request, numbers as
    /// numbers, the proxy's own error code when it answered itself, the upstream's time when there was one.
    @Test func accessLogLinesHaveTheDocumentedFieldsAndTypes() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try CommandLineTests.writeConfig(mockPort: mock.port)
        try await ProductBinary.withProxy(config: config, environment: CommandLineTests.secretEnvironment) {
            (proxy: ProductBinary.Running, port: Int) async throws in
            #expect(try await RawHTTPClient.get(port: port, "/api/v1/files?user=alice&id=7").status == 200)
            #expect(
                try await RawHTTPClient.get(port: port, "/api/v1/x", headers: ["Origin: https://evil.example"]).status
                    == 403)
            #expect(await eventually { proxy.printed.components(separatedBy: #""msg":"request""#).count == 3 })
            let lines = proxy.printed.split(separator: "\n").filter { $0.contains(#""msg":"request""#) }
            let objects = try lines.map {
                try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            let forwarded = try #require(objects.first { ($0["path"] as? String)?.hasPrefix("/api/v1/files") == true })
            #expect(forwarded["path"] as? String == "/api/v1/files?user&id")
            #expect(forwarded["client"] as? String == "127.0.0.1")
            #expect(forwarded["method"] as? String == "GET")
            #expect(forwarded["error"] == nil)
            #expect(forwarded["jti"] is String)
            #expect(forwarded["level"] as? String == "info")
            for key in ["status", "bytes_in", "bytes_out", "duration_ms", "upstream_ms"] {
                #expect(forwarded[key] is NSNumber, "\(key) is not a number")
            }
            let line = try #require(lines.first { $0.contains("/api/v1/files") })
            #expect(line.contains(#""status":200"#))
            #expect(line.contains(#""replayed":false"#))
            #expect(
                line.range(of: #""ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z""#, options: .regularExpression) != nil)
            let refused = try #require(objects.first { $0["path"] as? String == "/api/v1/x" })
            #expect(refused["status"] as? Int == 403)
            #expect(refused["error"] as? String == "browser_request_refused")
            #expect(refused["upstream_ms"] == nil)
        }
    }
}

/// Issue #30: what the README calls a number is a JSON number in every line the proxy writes, read back from the
/// real binary's output.
@Suite struct LogNumberTests {
    static let numericKeys: Set<String> = [
        "expires_in", "attempt", "retry_in_ms", "retry_in_s", "renew_in_ms", "signal", "in_flight", "curl_code",
        "limit", "max_connections", "status", "bytes_in", "bytes_out", "duration_ms", "upstream_ms",
    ]

    @Test func numbersAreNumbersInEveryLine() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try CommandLineTests.writeConfig(mockPort: mock.port, extra: TokenRecoveryTests.fastRetry)
        let binary = ProductBinary("covata-proxy")
        let proxy = try binary.start(["run", "--config", config.path], environment: CommandLineTests.secretEnvironment)
        #expect(await eventually { ProductBinary.listeningPort(in: proxy.printed) != nil })
        let port = try #require(ProductBinary.listeningPort(in: proxy.printed))
        #expect(await eventually { (try? await RawHTTPClient.get(port: port, "/api/v1/x").status) == 200 })
        // A failed renewal (attempt, retry_in_ms), then a stop (signal).
        mock.state.revokeAll()
        mock.state.setFault(.status(503))
        _ = try? await RawHTTPClient.get(port: port, "/api/v1/y")
        #expect(await eventually { proxy.printed.contains("will retry") })
        #expect(proxy.stop() == 0)
        var seen: Set<String> = []
        for line in proxy.printed.split(separator: "\n") where line.hasPrefix("{") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let fields = object.merging(object["request"] as? [String: Any] ?? [:]) { first, _ in first }
            for (key, value) in fields where Self.numericKeys.contains(key) {
                seen.insert(key)
                #expect(value is NSNumber && !(value is String), "\(key) in \(line)")
            }
        }
        #expect(seen.isSuperset(of: ["expires_in", "attempt", "retry_in_ms", "signal", "status"]), "\(seen)")
    }
}
