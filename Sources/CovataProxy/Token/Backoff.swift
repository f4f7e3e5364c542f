/// Exponential backoff with full jitter: a random delay up to min(cap, initial × 2^(attempt−1)).
struct Backoff: Sendable, Equatable {
    var initial: Double
    var cap: Double

    func delay(afterFailures failures: Int, random: Double) -> Double {
        let exponent = min(max(failures - 1, 0), 30)
        let ceiling = min(cap, initial * Double(1 << exponent))
        return ceiling * min(max(random, 0), 1)
    }
}
