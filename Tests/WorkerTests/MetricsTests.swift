import Backends
import DeviceProbe
import Foundation
import Measures
import Testing
@testable import Worker

@Suite("statistics and metrics")
struct MetricsTests {
    @Test func summaryOfKnownSamples() throws {
        let s = try #require(SampleSummary([2, 4, 4, 4, 5, 5, 7, 9]))
        #expect(s.count == 8 && s.mean == 5 && s.median == 4.5 && s.min == 2 && s.max == 9)
        #expect(abs(s.stddev - 2.138089935) < 1e-9) // sample (n − 1) standard deviation
        #expect(abs(s.cv - 2.138089935 / 5) < 1e-9)
        #expect(abs(s.ci95 - 2.3646243 * 2.138089935 / 8.0.squareRoot()) < 1e-6) // t(0.975, 7) = 2.3646243
        #expect(SampleSummary([]) == nil)
        #expect(SampleSummary([3])?.ci95 == 0)
    }

    @Test func percentilesInterpolateBetweenRanks() {
        let sorted = (1...10).map(Double.init)
        #expect(Percentile.of(sorted: sorted, 0.5) == 5.5)
        #expect(abs(Percentile.of(sorted: sorted, 0.9) - 9.1) < 1e-12)
        #expect(Percentile.of(sorted: [4], 0.99) == 4)
    }

    @Test func studentTForLargeSamplesApproachesTheNormal() {
        #expect(abs(StudentT.quantile975(degreesOfFreedom: 30) - 2.042) < 6e-4) // the table's 2.042 is rounded
        #expect(abs(StudentT.quantile975(degreesOfFreedom: 60) - 2.000) < 2e-3)
        #expect(abs(StudentT.quantile975(degreesOfFreedom: 1000) - 1.962) < 1e-3)
    }

    static func samples(prompt: Int, batch: Int, steps: [[Double]]) -> RunSamples {
        let reps = steps.map { s in
            RunSamples.Repetition(prefillSeconds: prompt > 0 ? Array(repeating: 0.5, count: batch) : [],
                                  ttftSeconds: Array(repeating: prompt > 0 ? 0.25 : s[0], count: batch),
                                  stepSeconds: s, e2eSeconds: (prompt > 0 ? 0.25 : 0) + s.reduce(0, +),
                                  generatedTokens: s.count + (prompt > 0 ? 1 : 0))
        }
        return RunSamples(promptTokens: prompt, batch: batch, loadSeconds: 0.1, repetitions: reps,
                          memory: BackendMemory(weightsBytes: 10, kvCacheBytes: 20, scratchBytes: 30), rssAfterLoadBytes: 40, firstTokens: [])
    }

    @Test func metricsFollowTheirDefinitions() throws {
        let m = RunMetrics(samples: Self.samples(prompt: 100, batch: 2, steps: [[0.1, 0.1, 0.2, 0.2], [0.1, 0.1, 0.1, 0.1]]), peakRSSBytes: 99)
        // pp: B·P ÷ total prefill time = 200 / 1.0 s
        #expect(m.ppTps?.mean == 200)
        // tg: decode-step tokens (steps × B) ÷ their time: 8 / 0.6 and 8 / 0.4
        #expect(abs((m.tgTps?.min ?? 0) - 8 / 0.6) < 1e-9 && abs((m.tgTps?.max ?? 0) - 20) < 1e-9)
        // every step is a gap after the prefill's token
        #expect(m.itlSeconds?.p50 == 0.1)
        // TPOT = (E2E − TTFT) ÷ (generated − 1) = 0.6 / 4 and 0.4 / 4
        #expect(abs((m.tpotSeconds?.mean ?? 0) - 0.125) < 1e-12)
        #expect(m.ttftSeconds?.count == 4 && m.ttftSeconds?.mean == 0.25)
        #expect(m.peakRssBytes == 99 && m.weightsBytes == 10 && m.kvCacheBytes == 20 && m.scratchBytes == 30 && m.rssAfterLoadBytes == 40)
    }

    @Test func tpotAtBatchTwoLeavesOutTheOtherSequencesPrefill() throws {
        // Two sequences prefilled one after the other: the first has its first token at 0.25 s,
        // the second at 0.5 s, after both prefills; then four decode steps of 0.1 s give each
        // its other four tokens. E2E 0.9 s.
        let rep = RunSamples.Repetition(prefillSeconds: [0.25, 0.25], ttftSeconds: [0.25, 0.5], stepSeconds: [0.1, 0.1, 0.1, 0.1],
                                        e2eSeconds: 0.9, generatedTokens: 5)
        let samples = RunSamples(promptTokens: 100, batch: 2, loadSeconds: 0.1, repetitions: [rep],
                                 memory: BackendMemory(weightsBytes: 10, kvCacheBytes: 20, scratchBytes: 30), rssAfterLoadBytes: 40, firstTokens: [])
        let m = RunMetrics(samples: samples, peakRSSBytes: nil)
        // (E2E − the last first token) ÷ (generated − 1) = 0.4 / 4. From the first sequence's first
        // token it would be 0.65 / 4: the second sequence's prefill counted as time per output token.
        #expect(abs((m.tpotSeconds?.mean ?? 0) - 0.1) < 1e-12, "\(m.tpotSeconds?.mean ?? .nan)")
    }

    @Test func withoutAPromptTheFirstStepIsTTFTNotAGap() throws {
        let m = RunMetrics(samples: Self.samples(prompt: 0, batch: 1, steps: [[0.5, 0.1, 0.1]]), peakRSSBytes: nil)
        #expect(m.ppTps == nil)
        #expect(m.itlSeconds?.p99 == 0.1, "the first step produced the first token")
        #expect(m.ttftSeconds?.mean == 0.5)
        #expect(abs((m.tgTps?.mean ?? 0) - 3 / 0.7) < 1e-9)
    }

    @Test func runSpecProblemsNameTheirFields() throws {
        var spec = RunSpec(backend: .native, model: "m", modelName: "m")
        #expect(spec.problems().isEmpty)
        spec.threads = 0
        spec.promptTokens = 0
        spec.genTokens = 0
        let problems = spec.problems().joined(separator: "; ")
        #expect(problems.contains("threads") && problems.contains("nothing to run"))
        // A type the enums do not hold is refused where the run is read, naming the field.
        guard case var .object(wire) = try ProtocolJSON.value(RunSpec(backend: .native, model: "m", modelName: "m")) else { return }
        wire["kv_type"] = .string("q8")
        #expect(throws: (any Error).self) { try ProtocolJSON.read(RunSpec.self, from: .object(wire)) }
        do { _ = try ProtocolJSON.read(RunSpec.self, from: .object(wire)) } catch {
            #expect(ProtocolJSON.describe(error).contains("kv_type"), "\(ProtocolJSON.describe(error))")
        }
    }

    @Test func protocolJSONRoundTripsAndNamesMissingFields() throws {
        let spec = RunSpec(backend: .native, model: "/m.gguf", modelName: "m", type: "q4_0", promptTokens: 7)
        let value = try ProtocolJSON.value(spec)
        #expect(value["prompt_tokens"]?.number == 7, "snake_case on the wire")
        #expect(try ProtocolJSON.read(RunSpec.self, from: value) == spec)
        guard case var .object(fields) = value else { Issue.record("not an object"); return }
        fields["gen_tokens"] = nil
        do {
            _ = try ProtocolJSON.read(RunSpec.self, from: .object(fields))
            Issue.record("a spec without gen_tokens was accepted")
        } catch {
            #expect(ProtocolJSON.describe(error).contains("gen_tokens"), "\(ProtocolJSON.describe(error))")
        }
    }
}

/// Energy and heat in the metrics (issue 25): derived where the samples have them, absent (never
/// zero) where they do not.
@Suite("energy metrics")
struct EnergyMetricsTests {
    @Test func joulesPerTokenAndWattsFromTheRepetitions() throws {
        var samples = MetricsTests.samples(prompt: 4, batch: 2, steps: [[0.1, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.1]])
        for i in samples.repetitions.indices {
            samples.repetitions[i].prefillJoules = 2.5   // over the 0.25 s prefill window: 10 W
            samples.repetitions[i].decodeJoules = 4.0    // over 0.4 s: 10 W; 4 steps × 2 sequences = 8 tokens
            samples.repetitions[i].tempC = 60 + Double(i)
            samples.repetitions[i].mhz = 2000 - Double(i) * 100
        }
        let m = RunMetrics(samples: samples, peakRSSBytes: nil)
        #expect(m.joulesPerToken?.mean == 0.5)
        #expect(m.prefillJoulesPerToken?.mean == 2.5 / 8)
        #expect(abs((m.decodeWatts?.mean ?? 0) - 10) < 1e-9 && abs((m.prefillWatts?.mean ?? 0) - 10) < 1e-9)
        #expect(m.maxTempC == 61 && m.minMhz == 1900)
        #expect(m.marginalJoulesPerToken == nil && m.idleWatts == nil)
    }

    /// The sampling report crosses the process boundary as snake_case JSON and must come back whole.
    @Test func samplesWithSamplingRoundTripThroughTheProtocol() throws {
        var trace = SamplerTrace(collector: "hwmon", scope: .board, domains: [EnergyDomain(name: "VDD_IN", kind: .power)], intervalSeconds: 0.1)
        trace.times = [10, 10.1, 10.2]; trace.joules = [0, 0.5, 1.0]; trace.tempC = [50, 51, nil]; trace.mhz = [1500, 1500, 1400]
        trace.throttleBits = [nil, nil, nil]; trace.samplerCPUSeconds = 0.001
        var samples = MetricsTests.samples(prompt: 4, batch: 1, steps: [[0.1, 0.1]])
        samples.repetitions[0].decodeJoules = 1
        samples.sampling = SamplingReport(trace: trace, heat: "1 thermal zone", energyUnavailable: nil, idleWatts: 2, origin: 10, window: (10, 10.2))
        let back = try ProtocolJSON.read(RunSamples.self, from: try ProtocolJSON.value(samples))
        #expect(back == samples)
        #expect(abs((back.sampling?.samplerCpuPercent ?? 0) - 0.5) < 1e-6)
        #expect(back.sampling?.seriesWatts.first == .some(nil) && back.sampling?.seriesWatts.dropFirst().allSatisfy { abs(($0 ?? 0) - 5) < 1e-6 } == true)
    }

    @Test func noEnergyMeansNoEnergyFields() throws {
        let samples = MetricsTests.samples(prompt: 4, batch: 1, steps: [[0.1, 0.1]])
        let m = RunMetrics(samples: samples, peakRSSBytes: nil)
        #expect(m.joulesPerToken == nil && m.decodeJoules == nil && m.decodeWatts == nil && m.maxTempC == nil && m.throttled == nil)
        let json = String(decoding: try ProtocolJSON.encoder().encode(m), as: UTF8.self)
        #expect(!json.contains("joules") && !json.contains("watts") && !json.contains("temp"), "\(json)")
    }
}
