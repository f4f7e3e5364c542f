import ProxySupport

/// An upstream answer's header fields as the bytes it sent, with where each name and value lies: no `String` is
/// made per field on the way through (it ran for every field of every answer), and bytes that are not UTF-8
/// (obs-text, RFC 9110 §5.5, such as a Latin-1 file name) reach the client unchanged.
public struct HeaderFields: Sendable {
    /// Where one field's name and value lie in `bytes`.
    private struct Span: Sendable {
        var name: Range<Int>
        var value: Range<Int>
    }

    /// Every field's name and value bytes, back to back (dropped fields' bytes included).
    public private(set) var bytes: [UInt8] = []
    private var spans: [Span] = []

    public init() {}

    public var count: Int { spans.count }

    public func name(_ index: Int) -> ArraySlice<UInt8> { bytes[spans[index].name] }
    public func value(_ index: Int) -> ArraySlice<UInt8> { bytes[spans[index].value] }

    /// Each field's name and value bytes in order, lent for the call: the answer's encoder copies them from here
    /// without an `ArraySlice` (and its retain and release) per name and value.
    public func forEach(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        bytes.withUnsafeBytes { bytes in
            for span in spans {
                body(UnsafeRawBufferPointer(rebasing: bytes[span.name]), .init(rebasing: bytes[span.value]))
            }
        }
    }

    /// The fields as text, for the few readers off the hot path; bytes that are not UTF-8 read as U+FFFD.
    public var text: [(name: String, value: String)] {
        spans.indices.map { (String(decoding: name($0), as: UTF8.self), String(decoding: value($0), as: UTF8.self)) }
    }

    /// Whether a field named `lowercase` (ignoring ASCII case) is present.
    public func contains(_ lowercase: String) -> Bool {
        bytes.withUnsafeBytes { bytes in
            spans.contains { UnsafeRawBufferPointer(rebasing: bytes[$0.name]).equalsIgnoringASCIICase(lowercase) }
        }
    }

    /// Where the fields named `lowercase` (ignoring ASCII case) are, in order.
    func indices(named lowercase: String) -> [Int] {
        bytes.withUnsafeBytes { bytes in
            spans.indices.filter {
                UnsafeRawBufferPointer(rebasing: bytes[spans[$0].name]).equalsIgnoringASCIICase(lowercase)
            }
        }
    }

    /// Drops the fields for which `drop` is true (their bytes stay, unreferenced). Names are lent as raw bytes, as
    /// by `forEach`: this runs for every field of every answer.
    public mutating func removeAll(where drop: (_ name: UnsafeRawBufferPointer) -> Bool) {
        let bytes = self.bytes
        bytes.withUnsafeBytes { bytes in
            spans.removeAll { drop(UnsafeRawBufferPointer(rebasing: bytes[$0.name])) }
        }
    }

    /// Replaces the value of every field for which `transform` returns new bytes (the old bytes stay, unreferenced).
    public mutating func rewriteValues(_ transform: (_ name: ArraySlice<UInt8>, _ value: ArraySlice<UInt8>) -> [UInt8]?)
    {
        for index in spans.indices {
            guard let new = transform(name(index), value(index)) else { continue }
            let start = bytes.count
            bytes.append(contentsOf: new)
            spans[index].value = start..<bytes.count
        }
    }

    mutating func reserve(fields: Int, bytes count: Int) {
        spans.reserveCapacity(fields)
        bytes.reserveCapacity(count)
    }

    /// One field of a header line, copied in one piece up to the value's end: `name` and `value` are where they
    /// lie in `line` (two copies cost as much again: each append has its fixed price). A typed view: an array
    /// appends it with one copy, a raw buffer byte by byte.
    mutating func append(from line: UnsafeRawBufferPointer, name: Range<Int>, value: Range<Int>) {
        let base = bytes.count
        let copied = UnsafeRawBufferPointer(rebasing: line[..<value.upperBound])
        bytes.append(contentsOf: copied.assumingMemoryBound(to: UInt8.self))
        spans.append(
            Span(
                name: base + name.lowerBound..<base + name.upperBound,
                value: base + value.lowerBound..<base + value.upperBound))
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
    }
}
