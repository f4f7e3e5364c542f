import Testing

/// Checks a connection's raw answers to requests sent on it: one `200` per target, and covata-mock's echo of each
/// target (`"uri":"…"`) in the order the requests were sent.
enum AnswersInOrder {
    static func expectOK(_ text: String, targets: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let statuses = text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
        #expect(
            statuses == Array(repeating: "200", count: targets.count), "\(text.prefix(300))",
            sourceLocation: sourceLocation)
        var position = text.startIndex
        for target in targets {
            let uri = "\"uri\":\"\(target.replacingOccurrences(of: "/", with: "\\/"))\""
            let found = text.range(of: uri, range: position..<text.endIndex)
            #expect(found != nil, "no answer for \(target) in order", sourceLocation: sourceLocation)
            position = found?.upperBound ?? position
        }
    }
}
