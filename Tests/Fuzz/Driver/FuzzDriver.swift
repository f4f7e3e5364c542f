import Foundation
import FuzzHarnesses

/// `covata-fuzz TARGET FILE…` replays files through a target, as `make test` does. Built with `-DFUZZING` and the
/// fuzzer sanitizer (`Tests/Fuzz/run`) it is libFuzzer instead, fuzzing the target named by `FUZZ_TARGET`.
@main
struct FuzzDriver {
    static func main() {
        #if FUZZING
            // SwiftPM makes this the program's entry point, so libFuzzer's own `main` is not linked: start its driver.
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            exit(withUnsafeMutablePointer(to: &argv) { runFuzzer(&argc, $0, fuzzOneInput) })
        #else
            replay()
        #endif
    }

    static func replay() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            let targets = FuzzTarget.allCases.map(\.rawValue).joined(separator: " ")
            print("usage: covata-fuzz TARGET FILE...  (targets: \(targets))")
            exit(2)
        }
        var failed = false
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("\(path): cannot be read")
                failed = true
                continue
            }
            do {
                try target.run(Array(data))
                print("\(path): ok")
            } catch {
                print("\(path): \(error)")
                failed = true
            }
        }
        exit(failed ? 1 : 0)
    }
}

#if FUZZING
    /// libFuzzer's `LLVMFuzzerRunDriver` (plain pointer and integer arguments: the C and Swift conventions agree).
    @_silgen_name("LLVMFuzzerRunDriver")
    private func runFuzzer(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    /// One input for the target named by `FUZZ_TARGET`; a broken promise stops the process, so libFuzzer keeps the
    /// input as a crash. Also under libFuzzer's own name, which its library refers to.
    @_cdecl("LLVMFuzzerTestOneInput")
    func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        do {
            try selected.run(bytes)
        } catch {
            fatalError("oracle failed (\(selected.rawValue)): \(error)")
        }
        return 0
    }

    private let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            fatalError("FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: " "))")
        }
        return target
    }()
#endif
