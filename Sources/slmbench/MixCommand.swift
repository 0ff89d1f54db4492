import ArgumentParser
import Engine
import Foundation
import ModelFormat
import Reporter
import Worker
import Workloads

extension Models {
    /// A type per tensor within a size budget, chosen on measured sensitivities, then built and measured.
    struct Mix: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Choose a type per tensor that minimises predicted KL divergence within a bits-per-weight budget; build and measure it.",
            discussion: reflow("""
                The prediction adds up per-tensor sensitivities (`models sensitivity --by tensor`, one per type in \
                --types; measured here on --calibration unless --sensitivity gives them): it assumes the tensors' \
                losses are additive. Sensitivities --by kind or layer are accepted too (far fewer runs): each unit's \
                ΔKLD is then spread over its tensors in proportion to their parameters, and the table says so. Each --types entry is replaced by its fallback where a tensor's rows are not whole \
                blocks of it (Q4_K → Q5_0 on 576-wide rows, as llama.cpp falls back). The search is greedy on ΔKLD \
                saved per byte along each tensor's convex hull. Bits per weight count every tensor's bytes (norms and the \
                embedding too) over every tensor's elements, as `models inspect` does. The mix is then written \
                (--out, default the cache; --save-mix writes the mix file that `mix:FILE` reads) and measured with \
                uniform Q4_K and the Q4_K_M recipe on --corpus, which should not be the calibration text: the table \
                gives each one's size, predicted and measured mean KLD, ΔPPL and top-1 agreement against F32.

                --imatrix FILE weights every scale search by that importance matrix (`models imatrix`, or llama-imatrix's): \
                the sensitivities (measured with it, or a --sensitivity file that records it) and the mix file alike; \
                Q4_K and Q4_K_M are then measured both ways, by round to nearest and weighted by the same matrix.

                --method gptq --calibration TEXT [--process-output] builds the mix by GPTQ on TEXT (as `models quantize \
                --method gptq` does; the matrices of types GPTQ cannot fill are rounded to nearest) and predicts it from \
                GPTQ's rows where the --sensitivity files have them (`models sensitivity --method gptq --calibration TEXT`, \
                e.g. --tensors '^token_embd' for a tied head), round trips elsewhere; Q4_K and Q4_K_M stay round to nearest.

                --target-profile P prints the mix's decode rate predicted on that device by the cross-device model \
                (llama.cpp at batch 1, fitted to profiles/validation, as `predict` does), with the model's validated \
                error; --min-decode R then keeps to mixes predicted at R tokens per second or more there, lowering the \
                size budget until the chosen mix meets it.
                """))
        @Argument(help: "A known model name or a GGUF file with real weights.") var model: String
        @Option(help: "The size budget in bits per weight (every tensor's bytes × 8 ÷ every tensor's elements).") var budgetBpw: Double
        @Option(help: ArgumentHelp("Types to choose from, comma-separated.", valueName: "types")) var types = "q3_k,q4_k,q5_k,q6_k"
        @Option(help: ArgumentHelp("Per-tensor sensitivities from `models sensitivity --by tensor --save` (default: measure them now); repeat to merge files of other types measured the same way.", valueName: "file.json"))
        var sensitivity: [String] = []
        @Option(help: ArgumentHelp("Without --sensitivity: the text the sensitivities are measured on (default: \(Corpus.calibrationPath)). With --method gptq: the text GPTQ's Hessians come from.", valueName: "path"))
        var calibration: String?
        @Option(help: ArgumentHelp("How the mix is built: rtn (round to nearest, the default) or gptq (GPTQ on --calibration, through `models quantize --method gptq`; needs --sensitivity files with rows of `models sensitivity --method gptq`).", valueName: "method"))
        var method = "rtn"
        @Flag(help: "With --method gptq: also compensate the output head (the embedding when tied) on the final norm's output.")
        var processOutput = false
        @OptionGroup var gptq: GPTQOptionGroup
        @Option(help: "Chunks of --context tokens the sensitivities are measured on, without --sensitivity.") var sensitivityChunks = 2
        @Option(help: ArgumentHelp("Write the measured sensitivities here, without --sensitivity.", valueName: "file.json")) var saveSensitivity: String?
        @Option(help: ArgumentHelp("Evaluation text (default: \(Corpus.defaultPath)).", valueName: "path")) var corpus: String?
        @Option(help: "Tokens per chunk.") var context = 512
        @Option(help: "Most chunks of the evaluation.") var chunks = 8
        @Option(help: "Threads.") var threads = 1
        @Option(name: .shortAndLong, help: ArgumentHelp("Write the mixed model here (default: the cache).", valueName: "path")) var out: String?
        @Option(help: ArgumentHelp("Write the mix file (base: and PATTERN=TYPE rules) here.", valueName: "path")) var saveMix: String?
        @Option(help: ArgumentHelp("Weight every scale search by this importance matrix (sensitivities, the mix, and a second Q4_K and Q4_K_M).", valueName: "path"))
        var imatrix: String?
        @Option(help: ArgumentHelp("A device's hardware profile: predict the mix's decode rate there.", valueName: "profiles/hardware/X.json"))
        var targetProfile: String?
        @Option(help: ArgumentHelp("With --target-profile: only mixes predicted at least this many decode tokens per second there.", valueName: "t/s"))
        var minDecode: Double?
        @Option(help: "With --target-profile: threads on the target (default: its physical cores).") var targetThreads: Int?
        @Flag(help: "Choose and write the mix, but do not measure it.") var noMeasure = false
        @Flag(help: "Print one JSON document.") var json = false

        func validate() throws {
            guard budgetBpw.isFinite, budgetBpw > 0, budgetBpw <= 32 else {
                throw ValidationError("--budget-bpw must be a number above 0 and at most 32, got \(budgetBpw)")
            }
            _ = try tensorTypes()
            guard context >= 16, context <= QualityEvaluation.maxContext else {
                throw ValidationError("--context must be 16 to \(QualityEvaluation.maxContext) tokens, got \(context)")
            }
            guard chunks >= 1 else { throw ValidationError("--chunks must be at least 1, got \(chunks)") }
            guard sensitivityChunks >= 1 else { throw ValidationError("--sensitivity-chunks must be at least 1, got \(sensitivityChunks)") }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
            guard let method = QuantMethod(rawValue: method.lowercased()), method == .rtn || method == .gptq else {
                throw ValidationError("--method must be rtn or gptq for models mix, got '\(self.method)'")
            }
            if method == .gptq {
                guard let calibration else { throw ValidationError("--method gptq needs --calibration TEXT: the text GPTQ's Hessians come from") }
                guard FileManager.default.isReadableFile(atPath: calibration) else { throw ValidationError("--calibration: cannot read \(calibration)") }
                guard !sensitivity.isEmpty else {
                    throw ValidationError("--method gptq needs --sensitivity files, one with rows of `models sensitivity --method gptq --calibration TEXT` (here --calibration is GPTQ's text, not the sensitivities')")
                }
                guard imatrix == nil else { throw ValidationError("--imatrix and --method gptq exclude each other") }
            }
            if processOutput, method != .gptq { throw ValidationError("--process-output goes with --method gptq") }
            try gptq.check(gptq: method == .gptq)
            if let minDecode {
                guard targetProfile != nil else { throw ValidationError("--min-decode needs --target-profile (the device the rate is predicted on)") }
                guard minDecode.isFinite, minDecode > 0, minDecode <= 1e9 else {
                    throw ValidationError("--min-decode must be a number of tokens per second above 0, got \(minDecode)")
                }
            }
            if let targetThreads {
                guard targetProfile != nil else { throw ValidationError("--target-threads needs --target-profile") }
                guard targetThreads >= 1, targetThreads <= 4096 else { throw ValidationError("--target-threads must be 1 to 4096, got \(targetThreads)") }
            }
        }

        func tensorTypes() throws -> [TensorType] {
            let names = types.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !names.isEmpty else { throw ValidationError("--types names no type") }
            return try names.map { try Models.quantizableType($0, flag: "--types") }
        }

        /// The mix quantized by GPTQ on --calibration: at --out, or in the cache under the mix, the
        /// text's content and GPTQ's options (reused when present).
        func buildGPTQ(_ mix: QuantMix, source: String, cache: ModelCache) throws -> String {
            guard let calibration else { throw CLIError("--method gptq needs --calibration TEXT") }
            let options = gptq.options
            var target = out
            if target == nil {
                let digest: String, textDigest: String
                do {
                    digest = try ModelFetcher.sha256(of: URL(fileURLWithPath: source))
                    textDigest = try ModelFetcher.sha256(of: URL(fileURLWithPath: calibration))
                } catch { throw CLIError(error.description) }
                let stem = URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent
                let name = mix.cacheName.replacingOccurrences(of: "recipe:", with: "recipe-") + "-gptq\(processOutput ? "-head" : "")-c\(textDigest.prefix(12))"
                    + String(format: "-d%g", options.dampening) + (options.actOrder ? "-ao" : "") + (options.weightedClip ? "-wc" : "")
                let folder = cache.models.appendingPathComponent("derived")
                let path = folder.appendingPathComponent("\(stem)-\(digest.prefix(16))-\(name)-q\(ModelQuantizer.quantizerVersion).gguf").path
                if FileManager.default.fileExists(atPath: path), (try? GGUFFile(path: path)) != nil { return path }
                try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                target = path
            }
            guard let target else { throw CLIError("no output path") }
            // Written beside its final name and moved there whole: an interrupted run leaves no file a later run would take.
            let partial = URL(fileURLWithPath: target).deletingLastPathComponent()
                .appendingPathComponent(".\(URL(fileURLWithPath: target).lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).partial").path
            defer { try? FileManager.default.removeItem(atPath: partial) }
            do {
                let result = try CalibratedQuantizer.quantize(method: .gptq, source: source, mix: mix, output: partial, calibration: calibration,
                                                              threads: threads, gptq: options, processOutput: processOutput,
                                                              hessianCache: cache.root.appendingPathComponent("hessians")) { Console.progress($0) }
                Console.progress("gptq: \(result.calibrated.count) matrices calibrated, \(result.roundedToNearest.count) rounded to nearest (types GPTQ cannot fill)")
                _ = try? FileManager.default.removeItem(atPath: target)
                try FileManager.default.moveItem(atPath: partial, toPath: target)
            } catch { throw CLIError("\(error)") }
            return target
        }

        func run() throws {
            let (source, file) = try Models.openReal(model, measuring: "sensitivities")
            let types = try tensorTypes()
            let cache = ModelCache.fromEnvironment()
            var importance: (matrix: ImportanceMatrix, name: String)?
            if let imatrix {
                do { importance = (try ImportanceMatrix(path: imatrix), URL(fileURLWithPath: imatrix).lastPathComponent) }
                catch { throw CLIError("--imatrix \(error.description)") }
            }
            let report: SensitivityReport
            let sensitivityName: String
            if !sensitivity.isEmpty {
                do { report = try SensitivityReport.merged(try sensitivity.map { path throws(MixError) in try SensitivityReport.load(path: path) }, names: sensitivity) }
                catch { throw CLIError(error.description) }
                sensitivityName = sensitivity.joined(separator: " + ")
                let sha = try? ModelFetcher.sha256(of: URL(fileURLWithPath: source))
                if let sha, sha != report.modelSHA256 {
                    throw CLIError("\(sensitivityName): measured on \(report.model) (SHA-256 \(report.modelSHA256.prefix(12))…), not on \(source) (\(sha.prefix(12))…)")
                }
                // The mix is built as its sensitivities were measured: with the same matrix, or none.
                if report.importance != importance?.name {
                    let measured = report.importance.map { "weighted by the importance matrix \($0)" } ?? "by round to nearest"
                    let asked = importance.map { "--imatrix \($0.name)" } ?? "no --imatrix"
                    throw CLIError("\(sensitivityName): measured \(measured), but this mix has \(asked); measure the sensitivities the way the mix is built")
                }
            } else {
                // Each type the sensitivities are wanted for, once (q2_k and q3_k may share a fallback).
                do {
                    report = try SensitivityAnalysis(context: context, chunks: sensitivityChunks, threads: threads,
                                                     importance: importance?.matrix, importanceName: importance?.name)
                        .report(source: source, types: types, grouping: .tensor, corpusPath: calibration, cache: cache) { Console.progress($0) }
                } catch { throw CLIError("\(error)") }
                sensitivityName = "measured now on \(report.corpus)"
                if let saveSensitivity {
                    do { try report.write(to: saveSensitivity) } catch { throw CLIError(error.description) }
                    Console.progress("wrote \(saveSensitivity)")
                }
            }
            let method = QuantMethod(rawValue: self.method.lowercased()) ?? .rtn
            if method == .gptq, let calibration {
                let text = URL(fileURLWithPath: calibration).lastPathComponent
                guard report.entries.contains(where: { $0.method == QuantMethod.gptq.rawValue }) else {
                    throw CLIError("\(sensitivityName): no rows measured by GPTQ; add a file of `models sensitivity --method gptq --calibration \(calibration)` (the embedding alone: --tensors '^token_embd')")
                }
                guard report.calibration == text else {
                    throw CLIError("\(sensitivityName): its GPTQ rows are calibrated on \(report.calibration ?? "?"), not on --calibration \(text)")
                }
            }
            let mixModel = MixModel(file: file)
            let search: MixSearch
            let result: MixSearch.Result
            do {
                search = try MixSearch(model: mixModel, types: types, sensitivity: report, file: sensitivityName, method: method)
            } catch { throw CLIError(error.description) }
            var floor: MixDecodeFloor?
            if let targetProfile {
                do {
                    let profile = try ProfileLibrary.load(targetProfile, flag: "--target-profile")
                    floor = try MixDecodeFloor.make(file: file, model: URL(fileURLWithPath: source).lastPathComponent, profile: profile, threads: targetThreads)
                } catch { throw CLIError(error.description) }
            }
            do {
                let budget = search.budgetBytes(bitsPerWeight: budgetBpw)
                result = try floor?.solve(search, budgetBytes: budget, minDecode: minDecode) ?? search.solve(budgetBytes: budget)
            } catch { throw CLIError("\(error)") }
            let mix = result.mix
            if let saveMix {
                let header = "# slmbench models mix \(URL(fileURLWithPath: source).lastPathComponent) --budget-bpw \(budgetBpw) --types \(self.types)" + (importance.map { " --imatrix \($0.name)" } ?? "")
                    + (method == .gptq ? " --method gptq --calibration \(URL(fileURLWithPath: calibration ?? "").lastPathComponent)\(processOutput ? " --process-output" : "")" : "") + "\n"
                let text = header + "base: \(mix.base.name)\n" + mix.rules.map(\.description).joined(separator: "\n") + "\n"
                do { try text.write(toFile: saveMix, atomically: true, encoding: .utf8) } catch {
                    throw CLIError("--save-mix: cannot write \(saveMix) (\(error.localizedDescription))")
                }
                Console.progress("wrote \(saveMix)")
            }
            // A file of `mix`: weighted by the importance matrix when there is one, from the cache unless --out.
            func build(_ mix: QuantMix, weighted: Bool, out: String? = nil) throws -> String {
                let sourceURL = URL(fileURLWithPath: source)
                do {
                    switch (weighted ? importance : nil, out) {
                    case let ((matrix, name)?, out?):
                        try ModelQuantizer.quantize(file, mix: mix, output: out, importance: matrix, importanceFile: name) { Console.progress($0) }
                        return out
                    case (nil, let out?):
                        try ModelQuantizer.quantize(file, mix: mix, output: out) { Console.progress($0) }
                        return out
                    case (_?, nil):
                        return try QuantizedFiles.weightedFile(source: sourceURL, mix: mix, importancePath: imatrix!, cache: cache) { Console.progress($0) }.path
                    case (nil, nil):
                        return try ModelQuantizer.ensure(source: sourceURL, mix: mix, cache: cache) { Console.progress($0) }.path
                    }
                } catch let error as ModelQuantizer.Failure { throw CLIError(error.description) }
                catch let error as CLIError { throw error }
                catch { throw CLIError("\(error)") }
            }
            let path = method == .gptq ? try buildGPTQ(mix, source: source, cache: cache) : try build(mix, weighted: true, out: out)
            var document = MixReport(budgetBitsPerWeight: budgetBpw, types: types.map { $0.name.lowercased() }, sensitivity: sensitivityName,
                                     calibration: report.corpus, assumption: MixReport.additivity + (search.spreadNote.map { "; \($0)" } ?? "") + (search.coverageNote.map { "; \($0)" } ?? "")
                                        + (search.gptqNote.map { "; \($0)" } ?? "") + (report.sampleNote.map { "; \($0)" } ?? ""),
                                     path: path, result: result)
            if method == .gptq {
                let options = gptq.options
                document.gptq = "built by GPTQ on \(URL(fileURLWithPath: calibration ?? "").lastPathComponent)" + (processOutput ? ", the output head too" : "")
                    + String(format: " (dampening %g, act-order %@, weighted range search %@); Q4_K and Q4_K_M by round to nearest",
                             options.dampening, options.actOrder ? "on" : "off", options.weightedClip ? "on" : "off")
            }
            document.target = floor?.speed(result, minDecode: minDecode)
            document.importance = importance?.name
            if !noMeasure {
                var variants: [(label: String, path: String, predicted: Double?)] = [("mix", path, result.predictedKLD)]
                for name in ["q4_k", "q4_k_m"] {
                    let other = try Models.mix(name, flag: "--types")
                    // The additive prediction holds for the way the sensitivities were measured only.
                    let predicted = search.predictedKLD(of: other.assign(mixModel))
                    variants.append((Models.label(other), try build(other, weighted: false), importance == nil ? predicted : nil))
                    if importance != nil { variants.append((Models.label(other) + " imatrix", try build(other, weighted: true), predicted)) }
                }
                let f32: String
                do { f32 = try ModelQuantizer.ensure(source: URL(fileURLWithPath: source), type: .f32, cache: cache) { Console.progress($0) }.path }
                catch { throw CLIError(error.description) }
                let evaluated = [QualitySpec.Variant(label: "f32", backend: .native, path: f32)]
                    + variants.map { QualitySpec.Variant(label: $0.label, backend: .native, path: $0.path) }
                let spec = QualitySpec(variants: evaluated, corpus: corpus, context: context, chunks: chunks, threads: threads)
                Console.progress("measuring the mix, Q4_K and Q4_K_M\(importance == nil ? "" : " (each by round to nearest and weighted)") against F32")
                let quality: QualityEvaluation.Report
                do { quality = try spec.evaluate { Console.progress($0) } } catch { throw CLIError(error.description) }
                document.measure(quality, variants: variants,
                                 caveat: QualityEvaluation.Report.sourceWeightsCaveat(model: URL(fileURLWithPath: source).lastPathComponent,
                                                                                     types: file.tensors.map(\.type.name)))
            }
            if json { return try JSONOutput.print(document) }
            print(document.markdown)
        }
    }
}
