import Foundation
import FuzzHarness

/// libFuzzer's entry for programs that have their own `main` (LLVM 11+, libclang_rt.fuzzer_no_main).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

nonisolated(unsafe) private var harness: (([UInt8]) -> Bool)?

/// Hands the command line to libFuzzer and feeds every input it generates to the FuzzHarness
/// entry point named `target`; exits with libFuzzer's status. With SLMBENCH_FUZZ_SEEDS=FOLDER it
/// writes the target's seeds there instead and exits (scripts/check/fuzz.sh).
public func runFuzzer(_ target: String) -> Never {
    guard let body = FuzzHarness.named(target) else {
        FileHandle.standardError.write(Data("fuzz: no harness entry point '\(target)' (\(FuzzHarness.targets.joined(separator: ", ")))\n".utf8))
        exit(64)
    }
    if let folder = ProcessInfo.processInfo.environment["SLMBENCH_FUZZ_SEEDS"] {
        do { try FuzzHarness.writeSeeds(target, to: URL(fileURLWithPath: folder)) } catch {
            FileHandle.standardError.write(Data("fuzz: cannot write the seeds of \(target) to \(folder): \(error)\n".utf8))
            exit(1)
        }
        exit(0)
    }
    harness = body
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        _ = harness?(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }
    exit(status)
}
