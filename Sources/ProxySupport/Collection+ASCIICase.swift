extension Collection<UInt8> {
    /// Whether these bytes spell `lowercase` (written in lower case) ignoring ASCII case, as field names, connection
    /// options and host names compare (RFC 9110 §5.1, §7.6.1; RFC 3986 §3.2.2), without a lower-cased copy: it runs
    /// for every header of every request and answer.
    @inlinable
    public func equalsIgnoringASCIICase(_ lowercase: String) -> Bool {
        // Most compares end here: names of different lengths.
        guard count == lowercase.utf8.count else { return false }
        // Strings and their slices are contiguous: compare through pointers (the generic loop below costs a
        // non-inlined iterator call per byte, `bench/instructions` shows).
        let contiguous = withContiguousStorageIfAvailable { bytes in
            lowercase.utf8.withContiguousStorageIfAvailable { Self.foldedEqual(bytes, $0) }
        }
        if let contiguous, let result = contiguous { return result }
        for (byte, expected) in zip(self, lowercase.utf8) where Self.folded(byte) != expected { return false }
        return true
    }

    /// Raw bytes: the parsers hand in what NIO lent them, without a copy.
    @inlinable
    static func foldedEqual(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == lowercase.count else { return false }
        for index in bytes.indices where folded(bytes[index]) != lowercase[index] { return false }
        return true
    }

    @inlinable
    static func folded(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}

extension StringProtocol {
    /// Whether the text's UTF-8 has `byte`, searched through its storage: `utf8.contains` walks a string index per
    /// byte (~240 instructions for a short header name; this runs for each of every request's).
    @inlinable
    public func containsByte(_ byte: UInt8) -> Bool {
        utf8.withContiguousStorageIfAvailable { $0.contains(byte) } ?? utf8.contains(byte)
    }

    /// Where the text's UTF-8 first has `byte`, found through its storage, as `containsByte` does (a `UTF8View`
    /// search cost 200 instructions on a short path).
    @inlinable
    public func firstIndex(ofByte byte: UInt8) -> String.Index? {
        guard let found = utf8.withContiguousStorageIfAvailable({ $0.firstIndex(of: byte) }) else {
            return utf8.firstIndex(of: byte)
        }
        return found.map { utf8.index(utf8.startIndex, offsetBy: $0) }
    }

    /// See `Collection.equalsIgnoringASCIICase(_:)`.
    @inlinable
    public func equalsIgnoringASCIICase(_ lowercase: String) -> Bool {
        utf8.equalsIgnoringASCIICase(lowercase)
    }

    /// This value without the spaces and tabs around it (RFC 9110 §5.5 OWS).
    @inlinable
    public func trimmingSpacesAndTabs() -> SubSequence {
        // Walked as bytes: comparing Characters costs a grapheme break check per step. Space and tab are ASCII, so
        // every index found is a valid Character boundary too.
        let bytes = utf8
        var start = bytes.startIndex
        while start < bytes.endIndex, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") {
            bytes.formIndex(after: &start)
        }
        var end = start
        var index = start
        while index < bytes.endIndex {
            let byte = bytes[index]
            bytes.formIndex(after: &index)
            if byte != UInt8(ascii: " "), byte != UInt8(ascii: "\t") { end = index }
        }
        return self[start..<end]
    }
}

extension UInt8 {
    /// RFC 9110 §5.6.2 `tchar`: a byte of a token (field names, methods). Two bit masks rather than a list search:
    /// it runs for every byte of every field name of every answer.
    @inlinable
    public var isHTTPTokenByte: Bool {
        // Bit n of the first mask is byte n (digits and ! # $ % & ' * + - .), of the second byte 64 + n (letters
        // and ^ _ ` | ~).
        switch self {
        case ..<64: (0x03FF_6CFA_0000_0000 as UInt64) >> UInt64(self) & 1 == 1
        case ..<128: (0x57FF_FFFF_C7FF_FFFE as UInt64) >> UInt64(self - 64) & 1 == 1
        default: false
        }
    }

    /// The value of a hexadecimal digit (either case), nil for any other byte: percent-encodings and chunk sizes.
    @inlinable
    public var hexDigitValue: UInt8? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): self - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): self - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): self - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
