import FuzzHarnesses
import Testing

/// The token lifecycle's walk (`TokenLifecycleWalk`, shared with the fuzzer) from seeds: 3,000 events each, checked
/// after every step. A failing seed replays exactly.
@Suite struct TokenLifecycleWalkTests {
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomSequencesKeepTheInvariants(seed: UInt64) {
        var walk = TokenLifecycleWalk(choices: Choices(seed: seed), password: seed % 2 == 0)
        #expect(throws: Never.self, "seed \(seed)") { try walk.walk(steps: 3000) }
    }
}
