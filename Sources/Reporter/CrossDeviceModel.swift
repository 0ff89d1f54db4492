import DeviceProbe
import Foundation
import Measures
import ResultStore

/// The shape of a model, as far as its speed depends on it.
public struct ModelGeometry: Sendable, Equatable {
    public var name: String
    public var parameters: Int
    public var layers: Int
    public var embedding: Int
    public var vocabulary: Int
    public var tiedEmbeddings: Bool
    /// Query heads × head dimension (the attention width; differs from `embedding` in Gemma 3).
    public var attentionWidth: Int
    /// KV heads × head dimension.
    public var kvWidth: Int

    public init(name: String, parameters: Int, layers: Int, embedding: Int, vocabulary: Int, tiedEmbeddings: Bool,
                attentionWidth: Int, kvWidth: Int) {
        self.name = name; self.parameters = parameters; self.layers = layers; self.embedding = embedding
        self.vocabulary = vocabulary; self.tiedEmbeddings = tiedEmbeddings; self.attentionWidth = attentionWidth; self.kvWidth = kvWidth
    }

    var embeddingParameters: Int { vocabulary * embedding }
}

/// What one llama.cpp test costs, from the model's tensor list rather than its file size.
public struct TestCost: Sendable, Equatable {
    public var shape: ModelGeometry
    /// slmbench's type name (`q4_k_m`, `q8_0`, `f16`…).
    public var type: String
    public var threads: Int
    public var prompt: Int
    public var gen: Int
    public var depth: Int
    /// The model file's size when known; else estimated from the parameters and the type's bits.
    public var fileBytes: Int?
    /// The KV cache's element type (`f16`, `q8_0`, `q4_0`, `f32`), as llama-bench's `type_k`.
    public var kvType: String

    public init(shape: ModelGeometry, type: String, threads: Int, prompt: Int, gen: Int, depth: Int, fileBytes: Int?,
                kvType: String = "f16") {
        self.shape = shape; self.type = type; self.threads = threads; self.prompt = prompt; self.gen = gen; self.depth = depth
        self.fileBytes = fileBytes; self.kvType = kvType
    }

    /// Bytes per cached K or V element: q8_0 blocks are 34 bytes per 32, q4_0 18 per 32; f16 (and
    /// any name not known here) 2.
    public var kvBytesPerElement: Double {
        switch kvType.lowercased() {
        case "f32": 4
        case "q8_0": 34.0 / 32
        case "q4_0": 18.0 / 32
        default: 2
        }
    }

    /// Weight bytes: the file's size, or parameters × the type's mean bits per weight.
    public var weightBytes: Double {
        if let fileBytes, fileBytes > 0 { return Double(fileBytes) }
        return Double(shape.parameters) * TypeCosts.bitsPerWeight(type) / 8
    }

    /// Bytes one decode step reads: every weight matrix once; of the token embedding one row, or
    /// the whole table when it is also the output head; the KV cache (of its element type) up to
    /// the mean context.
    public var decodeBytes: Double {
        let perWeight = weightBytes / Double(shape.parameters)
        let table = Double(shape.embeddingParameters) * perWeight
        var bytes = weightBytes
        if !shape.tiedEmbeddings { bytes += -table + Double(shape.embedding) * perWeight }
        let context = Double(depth + prompt) + Double(gen) / 2
        return bytes + 2 * kvBytesPerElement * Double(shape.layers * shape.kvWidth) * context
    }

    /// Multiply-adds × 2 of one decode step: every matrix including the output head, plus attention.
    public var decodeOps: Double {
        let matrices = Double(shape.parameters - (shape.tiedEmbeddings ? 0 : shape.embeddingParameters))
        let context = Double(depth + prompt) + Double(gen) / 2
        return 2 * matrices + 4 * Double(shape.layers * shape.attentionWidth) * context
    }

    /// Per prompt token: the layers' matrices (the output head runs for the last token only) and
    /// attention over half the prompt on average.
    public var prefillOps: Double {
        let matrices = Double(shape.parameters - shape.embeddingParameters)
        let context = Double(depth) + Double(prompt) / 2
        return 2 * matrices + 4 * Double(shape.layers * shape.attentionWidth) * context
    }
}

/// Which kernels a tensor type runs on, and its mean bits per weight.
public enum TypeCosts {
    /// The family whose efficiency a type shares: its base type (`q4_k_m` → `q4_k`).
    public static func family(_ type: String) -> String {
        let t = type.lowercased()
        for suffix in ["_s", "_m", "_l"] where t.hasSuffix(suffix) && t.contains("_k") { return String(t.dropLast(2)) }
        return t
    }

    public enum Kernel: String, Sendable { case f32, f16, int8 }

    /// llama.cpp's CPU kernels: F32 in f32; F16 and BF16 convert to f32 FMAs (or f16 arithmetic
    /// where the CPU has it, for F16); every quantized type multiplies its blocks with activations
    /// quantized to 8 bits, so the int8 dot-product peak bounds it.
    public static func kernel(_ type: String) -> Kernel {
        switch family(type) {
        case "f32": return .f32
        case "f16", "bf16": return .f16
        default: return .int8
        }
    }

    /// Mean bits per weight of a whole llama.cpp file of this type (block sizes of ggml's formats;
    /// for the K-quant mixes the share of tensors at each type in llama.cpp's recipes makes them
    /// approximate). Used only when a row does not give the file's size.
    public static func bitsPerWeight(_ type: String) -> Double {
        let table: [String: Double] = [
            "f32": 32, "f16": 16, "bf16": 16, "q8_0": 8.5, "q4_0": 4.5, "q4_1": 5, "q5_0": 5.5, "q5_1": 6, "q2_k": 2.625 + 0.7,
            "q2_k_s": 2.625 + 0.5, "q3_k": 3.4375, "q3_k_s": 3.4375, "q3_k_m": 3.9, "q3_k_l": 4.3, "q4_k": 4.5, "q4_k_s": 4.6,
            "q4_k_m": 4.85, "q5_k": 5.5, "q5_k_s": 5.55, "q5_k_m": 5.7, "q6_k": 6.5625, "iq4_nl": 4.5, "iq4_xs": 4.25,
        ]
        return table[type.lowercased()] ?? 4.5
    }
}

/// A device's ceilings at a thread count: read bandwidth and the peak of each kernel class.
public struct DeviceCeilings: Sendable, Equatable {
    public var readGBps: Double
    public var f32GFLOPS: Double
    public var f16GFLOPS: Double
    /// The rate of the int8 instruction sequence llama.cpp's CPU kernels use, not the fastest
    /// the CPU has: on x86 `vpmaddubsw` + `vpmaddwd` (VNNI's `vpdpbusd` only in a few kernels),
    /// 2× the f32 FMA rate; on Arm with dotprod `sdot`, 4×; on Arm without it, widening
    /// multiply-accumulates, 2×. (Taking VNNI's 4× on x86 raised the corpus's leave-one-device-out
    /// prefill error from 30% to 43%.)
    public var int8GOPS: Double
    /// One core's f32 peak: the device's speed for the per-layer fixed costs.
    public var coreGFLOPS: Double
    public var basis: String

    /// From the profile point at exactly `threads` when there is one; else the nearest point
    /// below (bandwidth as measured there, compute scaled by cores in use) — and the basis says so.
    public init?(_ profile: HardwareProfile, threads: Int) {
        let points = (profile.bandwidth?.points ?? []).filter { $0.readGBps != nil && $0.fmaGFLOPS != nil }
        guard let one = points.min(by: { $0.threads < $1.threads }) else { return nil }
        let point = points.first { $0.threads == threads } ?? points.filter { $0.threads <= threads }.max { $0.threads < $1.threads } ?? one
        let scale = Double(min(threads, max(1, profile.cpu.physicalCores))) / Double(point.threads)
        readGBps = point.readGBps!.median
        f32GFLOPS = point.fmaGFLOPS!.median * scale
        let arm = profile.cpu.architecture == "aarch64"
        int8GOPS = f32GFLOPS * (arm && profile.isa.features.contains("dotprod") ? 4 : 2)
        let nativeF16 = arm && profile.isa.features.contains("fp16")
        f16GFLOPS = f32GFLOPS * (nativeF16 ? 2 : 1)
        coreGFLOPS = one.fmaGFLOPS!.median / Double(one.threads)
        let kind = profile.measured ? "measured" : "published/derived"
        basis = String(format: "%@ read %.1f GB/s, f32 %.0f GFLOP/s, int8 %.0f GOP/s at %d thread%@", kind, readGBps, f32GFLOPS, int8GOPS,
                       point.threads, point.threads == 1 ? "" : "s")
        if point.threads != threads { basis += " (no point at \(threads) threads: bandwidth from \(point.threads), compute scaled by cores)" }
    }

    func peak(_ kernel: TypeCosts.Kernel) -> Double {
        switch kernel {
        case .f32: return f32GFLOPS
        case .f16: return f16GFLOPS
        case .int8: return int8GOPS
        }
    }
}

/// One measured llama.cpp test on a device, for fitting and validating the model.
public struct DeviceMeasurement: Sendable {
    public enum Phase: String, Sendable, CaseIterable { case decode, prefill }
    public var device: String
    public var workload: TestCost
    public var phase: Phase
    /// Tokens per second as measured.
    public var tps: Double
    public var source: String

    public init(device: String, workload: TestCost, phase: Phase, tps: Double, source: String) {
        self.device = device; self.workload = workload; self.phase = phase; self.tps = tps; self.source = source
    }
}

/// Time per token, decode: the bandwidth term B = bytes ÷ bandwidth × θ_bw and the compute term
/// C = operations ÷ the kernel's peak × θ_family, combined as the smooth maximum (Bᵖ + Cᵖ)^(1/p),
/// plus layers ÷ one core's speed × θ_layer; prefill: C + layers ÷ core speed × θ_layer. The θ are
/// inverse efficiencies (and a fixed cost per layer in units of a core's speed), fitted by
/// non-negative least squares on relative error to measurements from many devices, so that fixed
/// costs are not folded into efficiency and the bandwidth, compute and per-layer terms each come
/// from the device's own figures. p says how far reading weights and multiplying them overlap:
/// p = 1 adds them (no overlap), a large p approaches the roofline's max(B, C). It is chosen per
/// fit from `overlapGrid`, as the value whose fit leaves the least squared relative error on the
/// rows it is fitted to — never on rows it is then asked to predict.
public struct CrossDeviceModel: Sendable {
    public struct Fit: Sendable {
        /// Column names and their fitted values, for printing.
        public var names: [String]
        public var theta: [Double]
        public var rows: Int
        /// The exponent p of the smooth maximum of the bandwidth and compute terms (1: their sum).
        public var overlap: Double
    }

    public var decode: Fit
    public var prefill: Fit
    public var devices: [String]

    /// Families with fewer training rows than this share one "other quantized" coefficient.
    static let minimumFamilyRows = 4

    /// The overlap exponents a decode fit chooses from (1 = no overlap, the sum of the terms).
    public static let overlapGrid: [Double] = [1, 1.5, 2, 3, 4, 6, 8]

    public init(fit measurements: [DeviceMeasurement], profiles: [String: HardwareProfile]) {
        devices = Set(measurements.map(\.device)).sorted()
        decode = Self.fit(measurements.filter { $0.phase == .decode }, profiles: profiles, phase: .decode)
        prefill = Self.fit(measurements.filter { $0.phase == .prefill }, profiles: profiles, phase: .prefill)
    }

    /// Predicted tokens per second for a workload on a device; nil when the profile has no
    /// bandwidth and compute at any thread count, or the fit has nothing for this phase.
    public func predict(_ w: TestCost, phase: DeviceMeasurement.Phase, on profile: HardwareProfile) -> Double? {
        guard let c = DeviceCeilings(profile, threads: w.threads) else { return nil }
        let fit = phase == .decode ? decode : prefill
        guard fit.rows > 0 else { return nil }
        let seconds = Self.seconds(Self.columns(w, c, phase: phase, names: fit.names), theta: fit.theta, names: fit.names, overlap: fit.overlap)
        return seconds > 0 ? 1 / seconds : nil
    }

    /// (Bᵖ + Cᵖ)^(1/p), computed without overflow; B and C are ≥ 0.
    static func smoothMax(_ b: Double, _ c: Double, _ p: Double) -> Double {
        let m = max(b, c)
        guard m > 0 else { return 0 }
        return p == 1 ? b + c : m * pow(pow(b / m, p) + pow(c / m, p), 1 / p)
    }

    /// The model's time for one row of terms: the bandwidth and compute terms combined with
    /// exponent `overlap`, plus every other term.
    static func seconds(_ x: [Double], theta: [Double], names: [String], overlap: Double) -> Double {
        var bandwidth = 0.0, compute = 0.0, rest = 0.0
        for i in names.indices {
            let v = x[i] * theta[i]
            if names[i] == "bytes" { bandwidth += v } else if names[i].hasPrefix("ops:") { compute += v } else { rest += v }
        }
        return smoothMax(bandwidth, compute, overlap) + rest
    }

    static func familyColumn(_ type: String, names: [String]) -> String {
        let f = "ops:" + TypeCosts.family(type)
        return names.contains(f) ? f : "ops:other-\(TypeCosts.kernel(type).rawValue)"
    }

    /// The model's terms for one workload, in the order of `names` (seconds per token at θ = 1).
    static func columns(_ w: TestCost, _ c: DeviceCeilings, phase: DeviceMeasurement.Phase, names: [String]) -> [Double] {
        var x = [Double](repeating: 0, count: names.count)
        let family = familyColumn(w.type, names: names)
        let ops = phase == .decode ? w.decodeOps : w.prefillOps
        for (i, name) in names.enumerated() {
            switch name {
            case "bytes": x[i] = phase == .decode ? w.decodeBytes / (c.readGBps * 1e9) : 0
            case "layers": x[i] = Double(w.shape.layers) / (c.coreGFLOPS * 1e9) * 1e6
            case family: x[i] = ops / (c.peak(TypeCosts.kernel(w.type)) * 1e9)
            default: break
            }
        }
        return x
    }

    static func fit(_ rows: [DeviceMeasurement], profiles: [String: HardwareProfile], phase: DeviceMeasurement.Phase) -> Fit {
        let usable = rows.filter { profiles[$0.device].flatMap { DeviceCeilings($0, threads: 1) } != nil }
        var counts: [String: Int] = [:]
        for r in usable { counts[TypeCosts.family(r.workload.type), default: 0] += 1 }
        var names = (phase == .decode ? ["bytes"] : []) + ["layers"]
        names += counts.filter { $0.value >= minimumFamilyRows }.keys.sorted().map { "ops:" + $0 }
        names += ["ops:other-int8", "ops:other-f16", "ops:other-f32"]
        // Relative error: divide each row by its measured time.
        var a: [[Double]] = []
        for r in usable {
            guard let c = DeviceCeilings(profiles[r.device]!, threads: r.workload.threads) else { continue }
            let t = 1 / r.tps
            a.append(columns(r.workload, c, phase: phase, names: names).map { $0 / t })
        }
        // Prefill has no bandwidth term: its fit is linear whatever p is.
        let grid = names.contains("bytes") ? overlapGrid : [1]
        var best: (error: Double, theta: [Double], overlap: Double)?
        for p in grid {
            let theta = fitTheta(a, names: names, overlap: p, start: best?.theta)
            let error = squaredError(a, theta: theta, names: names, overlap: p)
            if best == nil || error < best!.error { best = (error, theta, p) }
        }
        var theta = best?.theta ?? [Double](repeating: 0, count: names.count)
        // A shared column nothing trained: borrow the median of the fitted families of its kernel.
        for (i, name) in names.enumerated() where name.hasPrefix("ops:other-") && theta[i] == 0 {
            let kernel = name.dropFirst("ops:other-".count)
            let peers = names.indices.filter { names[$0].hasPrefix("ops:") && !names[$0].hasPrefix("ops:other")
                && TypeCosts.kernel(String(names[$0].dropFirst(4))).rawValue == kernel && theta[$0] > 0 }.map { theta[$0] }
            let any = names.indices.filter { names[$0].hasPrefix("ops:") && theta[$0] > 0 }.map { theta[$0] }
            theta[i] = Percentile.median(peers) ?? Percentile.median(any) ?? 0
        }
        return Fit(names: names, theta: theta, rows: a.count, overlap: best?.overlap ?? 1)
    }

    /// The θ minimising Σ (model time ÷ measured time − 1)² for rows already divided by their
    /// measured time. With p = 1 the model is linear in θ: one non-negative least-squares solve.
    /// Otherwise the objective has several local minima, so two local searches start from the
    /// p = 1 solution and the one that ends lower is kept (judged, like p, on these rows only).
    static func fitTheta(_ a: [[Double]], names: [String], overlap p: Double, start: [Double]?) -> [Double] {
        let ones = [Double](repeating: 1, count: a.count)
        let linear = NonNegativeLeastSquares.solve(a, ones, start: start)
        guard p != 1, names.contains("bytes") else { return linear }
        let candidates = [fixedPoint(a, names: names, overlap: p, start: linear), levenbergMarquardt(a, names: names, overlap: p, start: linear)]
        return candidates.min { squaredError(a, theta: $0, names: names, overlap: p) < squaredError(a, theta: $1, names: names, overlap: p) }!
    }

    /// Σ (model time ÷ measured time − 1)² over rows already divided by their measured time.
    static func squaredError(_ a: [[Double]], theta: [Double], names: [String], overlap p: Double) -> Double {
        a.map { pow(seconds($0, theta: theta, names: names, overlap: p) - 1, 2) }.reduce(0, +)
    }

    /// The smooth maximum is homogeneous of degree 1, so it equals B·(B/f)^(p−1) + C·(C/f)^(p−1)
    /// with f its value; freezing those weights at the current θ leaves a linear problem, whose
    /// solution is the next θ (a Gauss–Newton step). It can stop where a coefficient whose terms
    /// barely count has reached zero: its weight is then zero too.
    static func fixedPoint(_ a: [[Double]], names: [String], overlap p: Double, start: [Double]) -> [Double] {
        let ones = [Double](repeating: 1, count: a.count)
        guard let bytes = names.firstIndex(of: "bytes") else { return start }
        let compute = names.indices.filter { names[$0].hasPrefix("ops:") }
        var theta = start
        for iteration in 0..<300 {
            let weighted = a.map { row -> [Double] in
                let b = row[bytes] * theta[bytes]
                let c = compute.map { row[$0] * theta[$0] }.reduce(0, +)
                let f = smoothMax(b, c, p)
                var out = row
                out[bytes] *= f > 0 ? pow(b / f, p - 1) : 1
                for j in compute { out[j] *= f > 0 ? pow(c / f, p - 1) : 1 }
                return out
            }
            var next = NonNegativeLeastSquares.solve(weighted, ones, start: theta)
            // Half steps after a while, should the plain iteration circle.
            if iteration >= 50 { next = zip(theta, next).map { ($0 + $1) / 2 } }
            let moved = zip(theta, next).map { abs($0 - $1) / max(abs($0), 1e-12) }.max() ?? 0
            theta = next
            if moved < 1e-9 { break }
        }
        return theta
    }

    /// Levenberg–Marquardt on log θ, so that no coefficient reaches zero and sticks there; the
    /// coefficients of columns with no data stay as they start.
    static func levenbergMarquardt(_ a: [[Double]], names: [String], overlap p: Double, start: [Double]) -> [Double] {
        let n = names.count
        let used = (0..<n).filter { j in a.contains { $0[j] != 0 } }
        let bytes = names.firstIndex(of: "bytes")
        let compute = Set(names.indices.filter { names[$0].hasPrefix("ops:") })
        var theta = start
        let fill = Percentile.median(used.filter { compute.contains($0) && start[$0] > 0 }.map { start[$0] }) ?? 1
        for j in used where theta[j] <= 0 { theta[j] = compute.contains(j) ? fill : 1 }
        func error(_ t: [Double]) -> Double { a.map { pow(seconds($0, theta: t, names: names, overlap: p) - 1, 2) }.reduce(0, +) }
        var current = error(theta), lambda = 1e-3
        for _ in 0..<500 {
            // The Jacobian with respect to log θⱼ: xᵢⱼ θⱼ times the smooth maximum's weight.
            var jtj = [[Double]](repeating: [Double](repeating: 0, count: used.count), count: used.count)
            var jtr = [Double](repeating: 0, count: used.count)
            for row in a {
                var b = 0.0, c = 0.0
                for j in used where j == bytes { b += row[j] * theta[j] }
                for j in used where compute.contains(j) { c += row[j] * theta[j] }
                let m = smoothMax(b, c, p)
                let wb = m > 0 ? pow(b / m, p - 1) : 1, wc = m > 0 ? pow(c / m, p - 1) : 1
                let r = seconds(row, theta: theta, names: names, overlap: p) - 1
                let g = used.map { j in row[j] * theta[j] * (j == bytes ? wb : compute.contains(j) ? wc : 1) }
                for k in g.indices where g[k] != 0 {
                    jtr[k] += g[k] * r
                    for l in g.indices { jtj[k][l] += g[k] * g[l] }
                }
            }
            var improved = false
            while lambda < 1e12 {
                var m = jtj
                for k in used.indices { m[k][k] += lambda * (jtj[k][k] + 1e-12) }
                guard let step = LinearSystem.solve(m, jtr.map { -$0 }) else { lambda *= 3; continue }
                var trial = theta
                for (k, j) in used.enumerated() { trial[j] = theta[j] * exp(max(-30, min(30, step[k]))) }
                let e = error(trial)
                if e < current {
                    improved = (current - e) > 1e-12 * max(current, 1e-300)
                    theta = trial; current = e; lambda = max(lambda / 3, 1e-12)
                    break
                }
                lambda *= 3
            }
            if !improved { break }
        }
        return theta
    }
}

/// A small dense linear system by Gaussian elimination with partial pivoting; nil when singular.
enum LinearSystem {
    static func solve(_ m: [[Double]], _ v: [Double]) -> [Double]? {
        let n = v.count
        var a = m, b = v
        for col in 0..<n {
            guard let pivot = (col..<n).max(by: { abs(a[$0][col]) < abs(a[$1][col]) }), abs(a[pivot][col]) > 1e-300,
                  a[pivot][col].isFinite else { return nil }
            a.swapAt(col, pivot); b.swapAt(col, pivot)
            for row in (col + 1)..<n where a[row][col] != 0 {
                let f = a[row][col] / a[col][col]
                for k in col..<n { a[row][k] -= f * a[col][k] }
                b[row] -= f * b[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var s = b[row]
            for k in (row + 1)..<n { s -= a[row][k] * x[k] }
            x[row] = s / a[row][row]
        }
        return x.allSatisfy(\.isFinite) ? x : nil
    }
}

/// min ‖Ax − b‖² subject to x ≥ 0, by cyclic coordinate descent on the normal equations (the
/// problem is small: a few columns, a few hundred rows; it converges to the unique optimum when
/// AᵀA is positive definite).
enum NonNegativeLeastSquares {
    static func solve(_ a: [[Double]], _ b: [Double], start: [Double]? = nil, sweeps: Int = 5000) -> [Double] {
        guard let n = a.first?.count else { return [] }
        var h = [[Double]](repeating: [Double](repeating: 0, count: n), count: n), g = [Double](repeating: 0, count: n)
        for (row, y) in zip(a, b) {
            for i in 0..<n where row[i] != 0 {
                g[i] += row[i] * y
                for j in 0..<n { h[i][j] += row[i] * row[j] }
            }
        }
        var x = [Double](repeating: 0, count: n)
        if let start, start.count == n { x = start.map { max(0, $0) } }
        for _ in 0..<sweeps {
            var moved = 0.0
            for i in 0..<n where h[i][i] > 0 {
                var gradient = -g[i]
                for j in 0..<n { gradient += h[i][j] * x[j] }
                let next = max(0, x[i] - gradient / h[i][i])
                moved = max(moved, abs(next - x[i]) / max(abs(x[i]), 1e-30))
                x[i] = next
            }
            if moved < 1e-10 { break }
        }
        return x
    }
}

/// Leave-one-device-out validation: each device predicted by a model fitted to all the others.
public struct CrossDeviceValidation: Sendable {
    public struct Row: Sendable {
        public var measurement: DeviceMeasurement
        public var predicted: Double?
        /// predicted ÷ measured − 1.
        public var error: Double? { predicted.map { $0 / measurement.tps - 1 } }
    }

    public struct Summary: Sendable, Equatable {
        public var rows: Int
        public var median: Double?
        public var p90: Double?
    }

    public var rows: [Row] = []
    public var devices: [String]

    public init(_ measurements: [DeviceMeasurement], profiles: [String: HardwareProfile]) {
        devices = Set(measurements.map(\.device)).sorted()
        for device in devices {
            let model = CrossDeviceModel(fit: measurements.filter { $0.device != device }, profiles: profiles)
            for m in measurements where m.device == device {
                rows.append(Row(measurement: m, predicted: profiles[device].flatMap { model.predict(m.workload, phase: m.phase, on: $0) }))
            }
        }
    }

    public func summary(device: String? = nil, phase: DeviceMeasurement.Phase) -> Summary {
        let errors = rows.filter { (device == nil || $0.measurement.device == device) && $0.measurement.phase == phase }
            .compactMap(\.error).map(abs).sorted()
        return Summary(rows: errors.count, median: errors.isEmpty ? nil : Percentile.of(sorted: errors, 0.5),
                       p90: errors.isEmpty ? nil : Percentile.of(sorted: errors, 0.9))
    }

    /// ISA families (`aarch64/neon`, `aarch64/dotprod`, `x86_64/avx2`, `x86_64/avx512`) with rows.
    public static func isaFamily(_ p: HardwareProfile) -> String {
        let f = p.isa.features
        if p.cpu.architecture == "aarch64" { return f.contains("dotprod") ? "aarch64/dotprod" : "aarch64/neon" }
        return f.contains("avx512f") ? "x86_64/avx512" : f.contains("avx2") ? "x86_64/avx2" : "\(p.cpu.architecture)/other"
    }

    public func markdown(profiles: [String: HardwareProfile]) -> String {
        func pct(_ x: Double?) -> String { x.map { String(format: "%.0f%%", $0 * 100) } ?? "—" }
        var lines = ["Leave-one-device-out: each device predicted by the model fitted to the other \(devices.count - 1).", "",
                     "| device | ISA | decode rows | decode median | decode p90 | prefill rows | prefill median | prefill p90 |",
                     "|---|---|---:|---:|---:|---:|---:|---:|"]
        for d in devices {
            let (dec, pre) = (summary(device: d, phase: .decode), summary(device: d, phase: .prefill))
            let isa = profiles[d].map(Self.isaFamily) ?? "no profile"
            lines.append("| \(d) | \(isa) | \(dec.rows) | \(pct(dec.median)) | \(pct(dec.p90)) | \(pre.rows) | \(pct(pre.median)) | \(pct(pre.p90)) |")
        }
        let (dec, pre) = (summary(phase: .decode), summary(phase: .prefill))
        lines.append("| **all** | | \(dec.rows) | \(pct(dec.median)) | \(pct(dec.p90)) | \(pre.rows) | \(pct(pre.median)) | \(pct(pre.p90)) |")
        let unpredicted = rows.filter { $0.predicted == nil }.count
        if unpredicted > 0 { lines.append(""); lines.append("\(unpredicted) rows not predicted (their device has no usable profile).") }
        return lines.joined(separator: "\n")
    }
}
