import DeviceProbe
import Foundation
import Reporter
import ResultStore

/// The cross-device validation corpus (profiles/validation/): published llama-bench results, one
/// CSV per device with the source URL on every row; the models' shapes (models*.yaml); and each
/// device's spec profile (profiles/hardware/DEVICE.json). Rows that cannot be used are counted
/// with the reason, never silently dropped.
public struct ValidationCorpus: Sendable {
    public var measurements: [DeviceMeasurement] = []
    public var profiles: [String: HardwareProfile] = [:]
    public var shapes: [String: ModelGeometry] = [:]
    /// Rows left out, with why.
    public var skipped: [String] = []

    public init(folder: String, hardwareFolder: String) throws {
        let dir = URL(fileURLWithPath: folder)
        let files: [String]
        do { files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted() } catch {
            throw SpecError(file: folder, line: nil, column: nil, key: "", message: "cannot read the corpus folder: \(error.localizedDescription)")
        }
        for file in files where file.hasPrefix("models") && file.hasSuffix(".yaml") {
            for (name, shape) in try Self.shapes(dir.appendingPathComponent(file).path) {
                if let have = shapes[name], have.layers != shape.layers || have.embedding != shape.embedding || have.vocabulary != shape.vocabulary {
                    throw SpecError(file: dir.appendingPathComponent(file).path, line: nil, column: nil, key: name,
                                    message: "shape differs from the same model in another models file")
                }
                shapes[name] = shapes[name] ?? shape
            }
        }
        for file in files where file.hasSuffix(".csv") {
            let path = dir.appendingPathComponent(file).path
            let device = String(file.dropLast(4))
            let profilePath = URL(fileURLWithPath: hardwareFolder).appendingPathComponent(device + ".json").path
            do { profiles[device] = try HardwareProfile.load(path: profilePath) } catch {
                skipped.append("\(file): no usable profile \(profilePath): \(error)"); continue
            }
            for run in try ImportedResults.read(URL(fileURLWithPath: path)) {
                let c = run.config
                guard var shape = shapes[c.model] else { skipped.append("\(file): \(run.key): no shape for model '\(c.model)' in models*.yaml"); continue }
                if let p = c.modelNParams, p > 0 { shape.parameters = p }
                let cost = TestCost(shape: shape, type: c.modelType, threads: c.nThreads, prompt: c.nPrompt, gen: c.nGen, depth: c.nDepth,
                                    fileBytes: c.modelSize, kvType: c.kvType)
                let source = (try? JSONSerialization.jsonObject(with: Data(run.context.utf8)) as? [String: Any])?["source_url"] as? String ?? path
                if let tg = run.tgAvgTs { measurements.append(DeviceMeasurement(device: device, workload: cost, phase: .decode, tps: tg, source: source)) }
                if let pp = run.ppAvgTs { measurements.append(DeviceMeasurement(device: device, workload: cost, phase: .prefill, tps: pp, source: source)) }
            }
        }
    }

    /// models*.yaml: per model key its shape (llama.cpp's naming in the comments of the file).
    static func shapes(_ path: String) throws(SpecError) -> [String: ModelGeometry] {
        let root = try CostFiles.root(path)
        var out: [String: ModelGeometry] = [:]
        for (name, node) in try root.entries() {
            var values: [String: SpecNode] = [:]
            for (k, v) in try node.entries() { values[k] = v }
            func int(_ k: String) throws(SpecError) -> Int? {
                guard let v = values[k], !v.isNull else { return nil }
                return try v.int(min: 1)
            }
            // A model whose shape was not found stays out of the corpus (its rows are skipped).
            let exact = try int("parameters"), nominal = try int("parameters_nominal")
            guard let layers = try int("num_layers"), let embedding = try int("hidden_size"), let heads = try int("num_attention_heads"),
                  let kvHeads = try int("num_kv_heads"), let headDim = try int("head_dim"), let vocabulary = try int("vocab_size"),
                  let parameters = exact ?? nominal, let tied = values["tied_embeddings"], !tied.isNull
            else { continue }
            out[name] = ModelGeometry(name: name, parameters: parameters, layers: layers, embedding: embedding, vocabulary: vocabulary,
                                   tiedEmbeddings: try tied.bool(), attentionWidth: heads * headDim, kvWidth: kvHeads * headDim)
        }
        return out
    }
}
