import ArgumentParser
import ModelFormat

/// GPTQ's knobs, shared by `models quantize`, `models sensitivity` and `models mix` with --method gptq.
struct GPTQOptionGroup: ParsableArguments {
    @Option(help: ArgumentHelp("With --method gptq: λ added to H's diagonal, as a fraction of its mean (default \(GPTQ.Options().dampening)).", valueName: "fraction"))
    var gptqDampening: Double?
    @Flag(inversion: .prefixedNo, help: "With --method gptq: quantize columns in order of descending H diagonal (act-order), each group's grid chosen from the original weights first.")
    var gptqActOrder: Bool?
    @Flag(inversion: .prefixedNo, help: "With --method gptq: weight the lab types' range search by H's diagonal instead of plain squared error (default on).")
    var gptqWeightedClip: Bool?

    var isSet: Bool { gptqDampening != nil || gptqActOrder != nil || gptqWeightedClip != nil }

    /// Checks the values; `gptq`: whether --method is gptq (the flags mean nothing otherwise).
    func check(gptq: Bool) throws {
        if isSet, !gptq { throw ValidationError("--gptq-dampening, --[no-]gptq-act-order and --[no-]gptq-weighted-clip go with --method gptq") }
        if let gptqDampening, !(gptqDampening.isFinite && gptqDampening >= 0 && gptqDampening <= 1) {
            throw ValidationError("--gptq-dampening must be a fraction from 0 to 1, got \(gptqDampening)")
        }
    }

    var options: GPTQ.Options {
        var options = GPTQ.Options()
        if let gptqDampening { options.dampening = gptqDampening }
        if let gptqActOrder { options.actOrder = gptqActOrder }
        if let gptqWeightedClip { options.weightedClip = gptqWeightedClip }
        return options
    }
}
