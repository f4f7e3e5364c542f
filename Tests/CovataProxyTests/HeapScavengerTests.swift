@testable import CovataProxy
import Testing

/// When the scavenger trims, from malloc's free bytes alone (the trim itself is `StreamingTests`'s, on a process).
@Suite struct HeapScavengerTests {
    static let mib = 1 << 20

    @Test(arguments: [
        // (why, free bytes sampled once a second in MiB, the samples that trim)
        ("the first sample only sets the floor, however large", [40, 40], [Bool]([false, false])),
        ("growth within the slack is left alone", [10, 17, 12, 18], [false, false, false, false]),
        ("a burst's frees trim once, not every second after", [10, 30, 30, 31], [false, true, false, false]),
        ("reuse lowers the floor, so the next burst's frees trim again", [10, 30, 5, 20], [false, true, false, true]),
        ("slow growth trims once it passes the floor by the slack", [10, 14, 18, 19], [false, false, false, true]),
    ])
    func trims(why: String, samples: [Int], trims: [Bool]) {
        var decision = HeapScavenger.Decision(slack: 8 * Self.mib)
        #expect(samples.map { decision.sampled(freeBytes: $0 * Self.mib) } == trims, "\(why)")
    }

    /// Random samples: every trim follows growth of more than the slack over the fewest free bytes since the last
    /// trim (or the start), and no such growth goes without a trim.
    @Test func trimsExactlyWhenFreesOutgrowTheFloor() {
        var random = SplitMix(seed: 29)
        for _ in 0..<200 {
            var decision = HeapScavenger.Decision(slack: 8 * Self.mib)
            var fewest: Int?
            for _ in 0..<50 {
                let free = Int(random.next() % 64) * Self.mib / 2
                let due = fewest.map { free > $0 + 8 * Self.mib } ?? false
                #expect(decision.sampled(freeBytes: free) == due)
                fewest = due ? free : min(fewest ?? free, free)
            }
        }
    }
}
