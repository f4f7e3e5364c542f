import Foundation
import FuzzHarnesses
import Testing

/// Every seed and every input that ever failed, replayed through its fuzz target's harness (the same function
/// libFuzzer calls, `Tests/Fuzz/run`): a bug the fuzzer found stays fixed without a fuzzer build.
@Suite struct FuzzCorpusTests {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func inputs(_ target: FuzzTarget) -> [URL] {
        ["Seeds", "Regressions"].flatMap { kind in
            let folder = fuzz.appendingPathComponent(kind).appendingPathComponent(target.rawValue)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map { folder.appendingPathComponent($0) }
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func corpusPasses(target: FuzzTarget) throws {
        let inputs = Self.inputs(target)
        #expect(inputs.count >= 4, "seeds for \(target.rawValue)")
        for input in inputs {
            let bytes = Array(try Data(contentsOf: input))
            #expect(throws: Never.self, "\(target.rawValue)/\(input.lastPathComponent)") { try target.run(bytes) }
        }
    }

    /// Every target has its folders, and nothing else is there.
    @Test func everyTargetHasItsFolders() throws {
        for kind in ["Seeds", "Regressions"] {
            let names = try FileManager.default.contentsOfDirectory(
                atPath: Self.fuzz.appendingPathComponent(kind).path)
            #expect(Set(names) == Set(FuzzTarget.allCases.map(\.rawValue)), "\(kind)")
        }
    }
}
