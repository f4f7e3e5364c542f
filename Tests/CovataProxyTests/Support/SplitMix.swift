/// A small seeded generator, so a failing sequence replays exactly.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Buffers of 0 to 40 bytes for testing a word-at-a-time search against a byte loop: in half of them every byte
    /// is from `alphabet` (the bytes searched for and their neighbours), in the rest one byte in twelve is.
    mutating func buffers(_ count: Int, alphabet: [UInt8]) -> [[UInt8]] {
        (0..<count).map { _ in
            let dense = next(2) == 0
            return (0..<next(41)).map { _ in
                dense || next(12) == 0 ? alphabet[next(alphabet.count)] : UInt8(truncatingIfNeeded: next())
            }
        }
    }
}
