/// The fuzz targets: one per thing the proxy parses or decides, each a function from bytes to a verdict that calls
/// the product's own code. libFuzzer drives them (`covata-fuzz`, built by `Tests/Fuzz/run`); `make test` replays every
/// seed and regression file through the same functions.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case json
    case config
    case request
    case upstreamHead = "upstream-head"
    case redirect
    case tokenResponse = "token-response"
    case stateFile = "state-file"
    case logLine = "log-line"
    case tokenLifecycle = "token-lifecycle"
    case exchange

    /// Runs one input. A crash is the product's; a thrown `OracleFailure` is a broken promise (the fuzzer driver turns
    /// it into a crash so libFuzzer keeps the input).
    public func run(_ bytes: [UInt8]) throws(OracleFailure) {
        switch self {
        case .json: try JSONHarness.json(bytes)
        case .config: try JSONHarness.config(bytes)
        case .request: try RequestHarness.run(bytes)
        case .upstreamHead: try UpstreamHarness.head(bytes)
        case .redirect: try UpstreamHarness.redirect(bytes)
        case .tokenResponse: try TokenHarness.response(bytes)
        case .stateFile: try TokenHarness.stateFile(bytes)
        case .logLine: try LogLineHarness.run(bytes)
        case .tokenLifecycle: try TokenLifecycleWalk.fuzz(bytes)
        case .exchange: try ExchangeWalk.fuzz(bytes)
        }
    }
}

/// A promise the product broke on one input, in words that say which.
public struct OracleFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Throws when `holds` is false.
@inline(__always)
func require(_ holds: Bool, _ message: @autoclosure () -> String) throws(OracleFailure) {
    if !holds { throw OracleFailure(message()) }
}

/// The fuzzer's bytes read as a sequence of choices, so one input replays exactly and small mutations change few
/// choices; `exhausted` says the bytes ran out, so every walk ends. Also a `RandomNumberGenerator`, so seeded walks
/// (tests) and fuzzed walks run the same code.
public struct Choices: RandomNumberGenerator {
    private let bytes: [UInt8]
    private var index = 0
    private let seeded: Bool
    /// SplitMix64's state: the whole stream of a seeded walk, and what follows the bytes of a fuzzed one (the
    /// standard library's bounded random numbers draw again until a value fits, and would draw zeros for ever).
    private var state: UInt64

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        seeded = false
        state = UInt64(bytes.count)
    }

    public init(seed: UInt64) {
        bytes = []
        seeded = true
        state = seed
    }

    public var exhausted: Bool { !seeded && index >= bytes.count }

    public mutating func next() -> UInt64 {
        guard seeded || exhausted else {
            var value: UInt64 = 0
            for _ in 0..<8 { value = value << 8 | UInt64(byte()) }
            return value
        }
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number below `bound`: one byte when that is enough (mutations then move one choice).
    public mutating func next(_ bound: Int) -> Int {
        precondition(bound > 0)
        if seeded || bound > 256 { return Int(next() % UInt64(bound)) }
        return Int(byte()) % bound
    }

    /// The next byte; 0 once they have run out.
    public mutating func byte() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }
}
