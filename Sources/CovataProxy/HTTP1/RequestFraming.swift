import ProxySupport

/// Follows a client's byte stream message by message (RFC 9112 §6) just far enough to know where each request line
/// starts: the head up to its blank line, then a `Content-Length` or chunked body. The HTTP decoder does the real
/// parsing and refuses what is malformed; this only counts, so a request pipelined behind another is found however
/// its bytes are split across reads.
struct RequestFraming {
    enum Position: Equatable {
        /// Between requests or inside a request line: the guard checks these bytes itself.
        case requestLine
        /// Header lines up to the blank line that ends the head.
        case head
        /// `remaining` bytes of a `Content-Length` body.
        case body(remaining: Int64)
        /// A chunk-size line, chunk data (and its CRLF), or the trailer section after the last chunk.
        case chunkSize
        case chunkData(remaining: Int64)
        case trailers
    }

    private(set) var position = Position.requestLine
    /// The start of the current line, without CR: enough for `Content-Length:` and its digits.
    private var line: [UInt8] = []
    /// The current line has a byte other than CR, so it is not a blank line.
    private var lineHasContent = false
    /// A head line that cannot be Content-Length or Transfer-Encoding: its bytes are not kept.
    private var lineIgnored = false
    private var contentLength: Int64 = 0
    private var chunked = false
    private static let kept = 64

    /// The request line ended: its head follows.
    mutating func requestLineEnded() {
        position = .head
        contentLength = 0
        chunked = false
        startLine()
    }

    /// Consumes what `bytes[index...]` holds of anything but a request line; returns where it stopped (at the start
    /// of the next request line, or the end of the bytes).
    /// Raw bytes, as the request-line guard borrows them from NIO (see there).
    mutating func skip(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        while index < bytes.count {
            switch position {
            case .requestLine:
                return index
            case .body(let remaining):
                let taken = min(remaining, Int64(bytes.count - index))
                index += Int(taken)
                position = taken < remaining ? .body(remaining: remaining - taken) : .requestLine
            case .chunkData(let remaining):
                let taken = min(remaining, Int64(bytes.count - index))
                index += Int(taken)
                guard taken == remaining else {
                    position = .chunkData(remaining: remaining - taken)
                    break
                }
                // The chunk's CRLF follows, read as a blank size line, then the next size line.
                position = .chunkSize
                startLine()
            case .head, .chunkSize, .trailers:
                // A line at a time: only its start is kept, the rest is skipped by the search for its end.
                // Eight bytes a step (`WordScan`): a byte loop cost five instructions a byte of every head.
                let end = WordScan.firstIndex(of: UInt8(ascii: "\n"), in: bytes, from: index)
                keep(UnsafeRawBufferPointer(rebasing: bytes[index..<end]))
                index = end
                if end < bytes.count {
                    index += 1
                    lineEnded()
                }
            }
        }
        return index
    }

    private mutating func startLine() {
        line.removeAll(keepingCapacity: true)
        lineHasContent = false
        lineIgnored = false
    }

    /// Keeps the line's bytes but CR, up to `kept` of them; of a head line, only if its name could matter.
    private mutating func keep(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes where byte != UInt8(ascii: "\r") {
            if !lineHasContent {
                lineHasContent = true
                let folded = byte | 0x20
                lineIgnored = position == .head && folded != UInt8(ascii: "c") && folded != UInt8(ascii: "t")
            }
            guard !lineIgnored, line.count < Self.kept else { return }
            line.append(byte)
        }
    }

    /// The value after `name:` when the current line is that field (names compared ignoring ASCII case).
    private func value(of name: String) -> ArraySlice<UInt8>? {
        let count = name.utf8.count
        guard line.count > count, line[count] == UInt8(ascii: ":"), line[..<count].equalsIgnoringASCIICase(name) else {
            return nil
        }
        return line[(count + 1)...]
    }

    private mutating func lineEnded() {
        defer { startLine() }
        switch position {
        case .head where !lineHasContent:
            if chunked {
                position = .chunkSize
            } else {
                position = contentLength > 0 ? .body(remaining: contentLength) : .requestLine
            }
        case .head:
            if let digits = value(of: "content-length") {
                contentLength = digits.reduce(into: Int64(0)) { total, byte in
                    guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), total < Int64.max / 20 else { return }
                    total = total * 10 + Int64(byte - UInt8(ascii: "0"))
                }
            } else if value(of: "transfer-encoding") != nil {
                chunked = true
            }
        case .chunkSize where !lineHasContent:
            // The CRLF after a chunk's data.
            break
        case .chunkSize:
            let digits = line.prefix { $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: " ") }
            let size = Int64(String(decoding: digits, as: UTF8.self), radix: 16) ?? 0
            position = size > 0 ? .chunkData(remaining: size) : .trailers
        case .trailers where !lineHasContent:
            position = .requestLine
        default:
            break
        }
    }
}
