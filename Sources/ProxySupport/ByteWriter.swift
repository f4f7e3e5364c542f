/// Bytes written into memory sized for them beforehand, one bounds check a piece: appending piece by piece to an
/// array or a `ByteBuffer` checked its uniqueness and capacity for every piece, which for the dozens of small pieces
/// of an answer's head or a log line cost more than the copying. A miscounted size stops the process rather than
/// writing past the memory. The answer heads the proxy writes and its log lines are written with it.
public struct ByteWriter {
    // Lent by the caller for as long as the writer is used; every write goes through `claim`.
    @usableFromInline let base: UnsafeMutableRawPointer?
    @usableFromInline let capacity: Int
    @usableFromInline var written = 0

    /// How many bytes have been written.
    public var count: Int { written }

    // Memory the caller owns and sized for everything it will write.
    @inlinable
    public init(_ memory: UnsafeMutableRawBufferPointer) {
        base = memory.baseAddress
        capacity = memory.count
    }

    /// Lets `body` write at most `capacity` bytes, then appends them to `out` in one copy. Small pieces are composed
    /// on the stack.
    @inlinable
    public static func append(to out: inout [UInt8], atMost capacity: Int, _ body: (inout ByteWriter) -> Void) {
        // Temporary memory, for the closure's length only.
        withUnsafeTemporaryAllocation(byteCount: max(capacity, 1), alignment: 1) { memory in
            var writer = ByteWriter(UnsafeMutableRawBufferPointer(rebasing: memory[..<capacity]))
            body(&writer)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: memory[..<writer.written]))
        }
    }

    /// The next `length` bytes (`length` > 0), to be written by the caller.
    @inlinable @inline(__always)
    public mutating func claim(_ length: Int) -> UnsafeMutableRawPointer {
        precondition(length <= capacity - written, "written past the memory sized for it")
        defer { written += length }
        return base.unsafelyUnwrapped + written
    }

    @inlinable
    public mutating func write(_ byte: UInt8) { claim(1).storeBytes(of: byte, as: UInt8.self) }

    // Bytes lent by the caller (a header field's name or value, a string's UTF-8), copied.
    @inlinable
    public mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        claim(bytes.count).copyMemory(from: source, byteCount: bytes.count)
    }

    /// A fixed piece of a format: no String made for it.
    @inlinable
    public mutating func write(_ text: StaticString) {
        write(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Text as it is, from the string's own UTF-8 (every native string has it; one bridged from elsewhere is copied
    /// out first).
    @inlinable
    public mutating func write(contentsOf text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ write(UnsafeRawBufferPointer($0)) }) == nil {
            Array(text.utf8).withUnsafeBytes { write($0) }
        }
    }
}
