import ProxyObservability
import Foundation
import Logging

@testable import CovataProxy

/// The log line writer, given any values: a JSON line parses back with the same values, a text line stays one line.
enum LogLineHarness {
    /// The line's own members: metadata keys are constants in the code, and none of them is one of these.
    static let fixedKeys: Set<String> = ["ts", "level", "msg", "logger"]

    static func run(_ bytes: [UInt8]) throws(OracleFailure) {
        var choices = Choices(bytes)
        // Clock readings: 1970 to 9999.
        let timestamp = Double(choices.next() % 253_402_300_799_000) / 1000
        let level = Logger.Level.allCases[choices.next(Logger.Level.allCases.count)]
        let message = text(&choices)
        let label = text(&choices)
        var metadata: Logger.Metadata = [:]
        var access: AccessRecord?
        if choices.next(4) == 0 {
            access = record(&choices)
        } else {
            for _ in 0..<choices.next(5) {
                let key = text(&choices)
                guard !fixedKeys.contains(key) else { continue }
                metadata[key] = value(&choices, depth: 0)
            }
        }
        let line = LogLine(
            timestamp: timestamp, level: level, message: message, label: label, metadata: metadata, record: access)
        var text: [UInt8] = []
        line.write(.text, to: &text)
        try require(text.last == 0x0A && !text.dropLast().contains { $0 == 0x0A || $0 == 0x0D }, "a text line split")
        var json: [UInt8] = []
        line.write(.json, to: &json)
        try require(json.last == 0x0A && !json.dropLast().contains { $0 == 0x0A || $0 == 0x0D }, "a JSON line split")
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.dropLast())) as? [String: Any] else {
            throw OracleFailure("a JSON line that does not parse: \(String(decoding: json, as: UTF8.self))")
        }
        try require(object["level"] as? String == level.rawValue, "level")
        try require(same(object["msg"], .string(message)) && same(object["logger"], .string(label)), "msg or logger")
        try timestampReads(object["ts"] as? String, timestamp)
        if let access {
            try recordReads(object, access)
        } else {
            try require(
                object.count == 4 + metadata.count, "\(metadata.count) metadata values, \(object.count - 4) read")
            for (key, value) in metadata {
                try require(same(object[key], value), "metadata \(value) read as \(object[key] ?? "nothing")")
            }
        }
    }

    private static func text(_ choices: inout Choices) -> String {
        String(decoding: (0..<choices.next(12)).map { _ in choices.byte() }, as: UTF8.self)
    }

    private static func value(_ choices: inout Choices, depth: Int) -> Logger.MetadataValue {
        switch choices.next(depth < 2 ? 8 : 6) {
        case 0: return .stringConvertible(Int(bitPattern: UInt(choices.next())))
        case 1: return .stringConvertible(Int64(bitPattern: choices.next()))
        case 2: return .stringConvertible(Double(bitPattern: choices.next()))
        case 3: return .stringConvertible(choices.next(2) == 0)
        case 4, 5: return .string(text(&choices))
        case 6: return .array((0..<choices.next(4)).map { _ in value(&choices, depth: depth + 1) })
        default:
            var object: [String: Logger.MetadataValue] = [:]
            for _ in 0..<choices.next(4) { object[text(&choices)] = value(&choices, depth: depth + 1) }
            return .dictionary(object)
        }
    }

    private static func record(_ choices: inout Choices) -> AccessRecord {
        AccessRecord(
            route: text(&choices), client: text(&choices), method: text(&choices), path: text(&choices),
            status: choices.next(1000), error: choices.next(2) == 0 ? nil : text(&choices),
            bytesIn: Int64(bitPattern: choices.next()), bytesOut: Int64(bitPattern: choices.next()),
            durationMilliseconds: Double(bitPattern: choices.next()),
            upstreamMilliseconds: choices.next(2) == 0 ? nil : Double(bitPattern: choices.next()),
            replayed: choices.next(2) == 0, jti: choices.next(2) == 0 ? nil : text(&choices))
    }

    /// The `ts` member names the same millisecond, as Foundation reads RFC 3339.
    private static func timestampReads(_ text: String?, _ timestamp: Double) throws(OracleFailure) {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let text, let date = formatter.date(from: text) else { throw OracleFailure("ts \(text ?? "-") unread") }
        try require(abs(date.timeIntervalSince1970 - timestamp) < 0.0015, "ts \(text) for \(timestamp)")
    }

    private static func recordReads(_ object: [String: Any], _ record: AccessRecord) throws(OracleFailure) {
        let strings: [(String, String?)] = [
            ("route", record.route), ("client", record.client), ("method", record.method), ("path", record.path),
            ("error", record.error), ("jti", record.jti),
        ]
        for (key, value) in strings {
            try require(value.map { same(object[key], .string($0)) } ?? (object[key] == nil), "access \(key)")
        }
        for (key, value) in [
            ("status", Int64(record.status)), ("bytes_in", record.bytesIn), ("bytes_out", record.bytesOut),
        ] {
            try require((object[key] as? NSNumber)?.int64Value == value, "access \(key)")
        }
        for (key, value) in [
            ("duration_ms", record.durationMilliseconds), ("upstream_ms", record.upstreamMilliseconds),
        ] {
            guard let value else {
                try require(object[key] == nil, "access \(key)")
                continue
            }
            try require(millisecondsRead(object[key], value), "access \(key) \(value) read as \(object[key] ?? "-")")
        }
    }

    /// Three decimals for an ordinary duration; anything else as a JSON number or, if it has none, a string.
    private static func millisecondsRead(_ read: Any?, _ value: Double) -> Bool {
        guard value.isFinite else { return read as? String == value.description }
        guard let number = number(read) else { return false }
        return abs(value) < 1e12 ? abs(number - value) <= 0.0005 + abs(value) * 1e-15 : number == value
    }

    /// A number as Foundation read it, through its decimal text: a large one comes as a decimal number whose
    /// `doubleValue` rounds differently from the nearest double.
    private static func number(_ read: Any?) -> Double? {
        (read as? NSNumber).flatMap { Double($0.description) }
    }

    private static func same(_ read: Any?, _ value: Logger.MetadataValue) -> Bool {
        guard let read else { return false }
        switch value {
        case .string(let text):
            guard let string = read as? String else { return false }
            return Array(string.unicodeScalars) == Array(text.unicodeScalars)
        case .stringConvertible(let convertible):
            switch convertible {
            case let int as Int: return (read as? NSNumber)?.int64Value == Int64(int)
            case let int as Int64: return (read as? NSNumber)?.int64Value == int
            case let bool as Bool:
                guard let number = read as? NSNumber, String(cString: number.objCType) == "c" else { return false }
                return number.boolValue == bool
            case let double as Double:
                guard double.isFinite else { return read as? String == double.description }
                return number(read) == double
            default: return read as? String == convertible.description
            }
        case .array(let values):
            guard let array = read as? [Any], array.count == values.count else { return false }
            return zip(array, values).allSatisfy { same($0, $1) }
        case .dictionary(let object):
            guard let dictionary = read as? [String: Any], dictionary.count == object.count else { return false }
            return object.allSatisfy { key, value in same(dictionary[key], value) }
        }
    }
}
