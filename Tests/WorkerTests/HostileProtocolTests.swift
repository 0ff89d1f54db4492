import Backends
import Foundation
import Testing
@testable import Worker

/// Values at the edges on the worker protocol, from either end: a run the worker is asked to do,
/// and the samples a worker reports. Each must be a problem named by its field, never a trap.
@Suite("hostile worker protocol values")
struct HostileProtocolTests {
    static func spec(_ change: (inout RunSpec) -> Void) -> RunSpec {
        var spec = RunSpec(backend: .native, model: "/m.gguf", modelName: "m", promptTokens: 8, genTokens: 4)
        change(&spec)
        return spec
    }

    /// (a run's configuration, the wire field its problem must name)
    static let runs: [(RunSpec, String)] = [
        (spec { $0.promptTokens = .max }, "prompt_tokens"),
        (spec { $0.genTokens = .max }, "gen_tokens"),
        (spec { $0.depth = .max }, "depth"),
        (spec { $0.threads = .max }, "threads"),
        (spec { $0.batch = .max }, "batch"),
        (spec { $0.warmup = .max }, "warmup"),
        (spec { $0.repetitions = .max }, "repetitions"),
        (spec { $0.maxRepetitions = .max }, "max_repetitions"),
        (spec { $0.targetHalfWidth = .infinity }, "target_half_width"),
        (spec { $0.cpus = [0, -1] }, "cpus"),
    ]

    /// Measurement.run refuses a run with problems before computing its context (which would
    /// overflow on these) or loading anything.
    @Test(arguments: runs.indices)
    func anOutOfBoundsRunIsAProblemNamingItsField(index: Int) {
        let (spec, field) = Self.runs[index]
        let problems = spec.problems()
        #expect(problems.contains { $0.hasPrefix(field) }, "\(problems)")
    }

    static func samples(batch: Int = 2, prompt: Int = 8, seconds: Double = 0.01, generated: Int = 4) -> JSONValue {
        let repetition = RunSamples.Repetition(prefillSeconds: [seconds, seconds], ttftSeconds: [0.02, 0.03], stepSeconds: [0.002, 0.002, 0.002],
                                               e2eSeconds: 0.05, generatedTokens: generated)
        let samples = RunSamples(promptTokens: prompt, batch: batch, loadSeconds: 0.1, repetitions: [repetition], memory: BackendMemory(),
                                 rssAfterLoadBytes: nil, firstTokens: [1])
        return (try? ProtocolJSON.value(samples)) ?? .null
    }

    static let backend = JSONValue.object(["name": .string("fake"), "version": .string("1"), "build": .object([:])])

    @Test func wellFormedSamplesGiveMetrics() throws {
        let (_, _, metrics) = try RunLauncher.result(metrics: Self.samples(), backend: Self.backend, peakRSSBytes: nil)
        #expect(metrics.ppTps != nil && metrics.tgTps != nil)
    }

    /// A worker's samples are multiplied (batch × prompt tokens: 2^62 × 8 wraps) and summarised:
    /// absurd ones are a protocol error naming the field.
    @Test(arguments: [(Self.samples(batch: 1 << 62), "batch"), (Self.samples(prompt: 1 << 62), "prompt_tokens"),
                      (Self.samples(batch: 0), "batch"), (Self.samples(prompt: -1), "prompt_tokens"),
                      (Self.samples(seconds: -1), "prefill_seconds"), (Self.samples(generated: -5), "generated_tokens")])
    func absurdSamplesAreAProtocolErrorNamingTheField(metrics: JSONValue, field: String) {
        do {
            _ = try RunLauncher.result(metrics: metrics, backend: Self.backend, peakRSSBytes: nil)
            Issue.record("accepted samples with an absurd \(field)")
        } catch {
            #expect("\(error)".contains(field), "\(error)")
        }
    }
}
