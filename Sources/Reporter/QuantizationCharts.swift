import Foundation
import Measures
import ResultStore

/// One sensitivity measurement laid out for the report's heat map: ΔKLD per layer and kind for
/// one type (built from `models sensitivity --save FILE.json` by Workloads; `report --sensitivity`).
public struct SensitivityHeatMap: Sendable, Equatable {
    public struct Cell: Sendable, Equatable {
        /// The block; nil for tensors outside blocks (embedding, output) or a unit of every layer.
        public var layer: Int?
        /// The kind's name (`attn_q`, …, `embedding`, `output`); nil for a unit of a whole layer.
        public var kind: String?
        /// The unit's name (a tensor name, `layer N`, or a kind).
        public var unit: String
        /// The type the unit's tensors were quantized to (fallbacks included).
        public var usedType: String
        public var meanKLD: Double
        public init(layer: Int?, kind: String?, unit: String, usedType: String, meanKLD: Double) {
            self.layer = layer; self.kind = kind; self.unit = unit; self.usedType = usedType; self.meanKLD = meanKLD
        }
    }

    public var model: String
    /// The requested type.
    public var type: String
    public var corpus: String
    /// How the figures were obtained, in one sentence.
    public var method: String
    public var tiedOutput: Bool
    public var caveat: String?
    public var cells: [Cell]
    /// How much text each figure rests on (`2 chunks of 256 tokens, 254 scored positions`).
    public var sample: String?

    public init(model: String, type: String, corpus: String, method: String, tiedOutput: Bool, caveat: String?, cells: [Cell],
                sample: String? = nil) {
        self.model = model; self.type = type; self.corpus = corpus; self.method = method; self.tiedOutput = tiedOutput
        self.caveat = caveat; self.cells = cells; self.sample = sample
    }

    /// Column order of the kinds (the heat map's x axis).
    static let kindOrder = ["attn_q", "attn_k", "attn_v", "attn_o", "ffn_gate", "ffn_up", "ffn_down", "embedding", "output"]

    /// YlOrRd, light to dark: low ΔKLD light, high dark.
    static let ramp: [(Double, Double, Double)] = [(255, 255, 204), (254, 217, 118), (253, 141, 60), (227, 26, 28), (128, 0, 38)]

    static func colour(_ t: Double) -> String {
        let x = Swift.min(1, Swift.max(0, t)) * Double(ramp.count - 1)
        let i = Swift.min(ramp.count - 2, Int(x)), f = x - Double(i)
        let (a, b) = (ramp[i], ramp[i + 1])
        return String(format: "#%02X%02X%02X", Int((a.0 + (b.0 - a.0) * f).rounded()), Int((a.1 + (b.1 - a.1) * f).rounded()),
                      Int((a.2 + (b.2 - a.2) * f).rounded()))
    }

    /// The heat map as an inline SVG `<figure>`: rows are layers (then the tensors outside
    /// blocks), columns kinds, colour the log of ΔKLD with a legend bar.
    public func render() -> String {
        let kinds = Self.kindOrder.filter { k in cells.contains { $0.kind == k } } + (cells.contains { $0.kind == nil } ? ["all kinds"] : [])
        var rows: [String] = Set(cells.compactMap(\.layer)).sorted().map { "layer \($0)" }
        if cells.contains(where: { $0.layer == nil && $0.kind != nil }) { rows.append(cells.contains { $0.layer != nil } ? "outside blocks" : "all layers") }
        func rowName(_ c: Cell) -> String {
            if let layer = c.layer { return "layer \(layer)" }
            return cells.contains { $0.layer != nil } ? "outside blocks" : "all layers"
        }
        let positive = cells.map(\.meanKLD).filter { $0 > 0 && $0.isFinite }
        guard !rows.isEmpty, !kinds.isEmpty, let low = positive.min(), let high = positive.max() else {
            return "<figure><p class=\"empty\">No sensitivity figures for \(HTML.escape(type)).</p></figure>"
        }
        let (l0, l1) = (log10(low), log10(high) == log10(low) ? log10(low) + 1 : log10(high))
        func t(_ v: Double) -> Double { v > 0 ? (log10(v) - l0) / (l1 - l0) : 0 }
        let cellW = 64.0, cellH = rows.count > 40 ? 10.0 : 14.0, left = 110.0, top = 66.0
        let width = left + Double(kinds.count) * cellW + 190, height = top + Swift.max(Double(rows.count) * cellH, 80) + 46
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        let unitWord = kinds == ["all kinds"] ? "layer" : rows == ["all layers"] ? "kind" : "tensor"
        let title = "Sensitivity to \(type): ΔKLD when one \(unitWord) alone is quantized (\(model))"
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"heatmap\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">"
        svg += "<title>\(HTML.escape(title))</title><desc>\(HTML.escape("Rows: layers; columns: kinds of weight matrix; colour: mean KL divergence from the all-F32 model with only that tensor quantized to \(type), on a log scale from \(SVGChart.format(low)) (light) to \(SVGChart.format(high)) (dark)."))</desc>"
        // Two lines, so the title fits the chart's width: what was measured, then on which model.
        svg += "<text x=\"10\" y=\"18\" class=\"title\">\(HTML.escape("Sensitivity to \(type): ΔKLD with one \(unitWord) alone quantized"))</text>"
        svg += "<text x=\"10\" y=\"34\" class=\"tick\">\(HTML.escape(model))</text>"
        for (i, k) in kinds.enumerated() {
            svg += "<text x=\"\(f(left + (Double(i) + 0.5) * cellW))\" y=\"\(f(top - 8))\" class=\"tick\" text-anchor=\"middle\">\(HTML.escape(k))</text>"
        }
        let every = rows.count > 40 ? 5 : 1
        for (j, r) in rows.enumerated() where j % every == 0 || !r.hasPrefix("layer") {
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(top + (Double(j) + 0.8) * cellH))\" class=\"tick\" text-anchor=\"end\">\(HTML.escape(r))</text>"
        }
        for c in cells {
            guard let j = rows.firstIndex(of: rowName(c)), let i = kinds.firstIndex(of: c.kind ?? "all kinds") else { continue }
            let fill = c.meanKLD > 0 ? Self.colour(t(c.meanKLD)) : "#EEEEEE"
            let note = "\(c.unit) in \(c.usedType): mean KLD \(String(format: "%.3g", c.meanKLD))"
            svg += "<rect class=\"cell\" x=\"\(f(left + Double(i) * cellW))\" y=\"\(f(top + Double(j) * cellH))\" width=\"\(f(cellW - 1))\" height=\"\(f(cellH - 1))\" fill=\"\(fill)\"><title>\(HTML.escape(note))</title></rect>"
        }
        // The legend: the colour ramp with its end values.
        let lx = left + Double(kinds.count) * cellW + 24, steps = 24, barH = Swift.max(60, Swift.min(200, Double(rows.count) * cellH))
        svg += "<text x=\"\(f(lx))\" y=\"\(f(top - 22))\" class=\"legend\">mean KLD\(caveat == nil ? "" : " †")</text>"
        svg += "<text x=\"\(f(lx))\" y=\"\(f(top - 8))\" class=\"legend\">nats, log scale</text>"
        for s in 0..<steps {
            let y = top + barH * Double(s) / Double(steps)
            svg += "<rect class=\"legend-step\" x=\"\(f(lx))\" y=\"\(f(y))\" width=\"16\" height=\"\(f(barH / Double(steps) + 0.5))\" fill=\"\(Self.colour(1 - Double(s) / Double(steps - 1)))\"/>"
        }
        svg += "<text x=\"\(f(lx + 22))\" y=\"\(f(top + 9))\" class=\"legend\">\(SVGChart.format(high))</text>"
        svg += "<text x=\"\(f(lx + 22))\" y=\"\(f(top + barH))\" class=\"legend\">\(SVGChart.format(low))</text>"
        if positive.count < cells.count {
            svg += "<rect x=\"\(f(lx))\" y=\"\(f(top + barH + 10))\" width=\"16\" height=\"10\" fill=\"#EEEEEE\"/><text x=\"\(f(lx + 22))\" y=\"\(f(top + barH + 19))\" class=\"legend\">0 (no loss)</text>"
        }
        svg += "</svg>"
        var caption = "Type \(type) (each tensor in it, or its fallback where its rows are not whole blocks of it). Text: \(corpus)\(sample.map { ", \($0)" } ?? ""). How: \(method)."
        if tiedOutput { caption += " The output head is the embedding (tied): the embedding column covers both uses." }
        if let caveat { caption += " † \(caveat)." }
        return "<figure>\(svg)<figcaption>\(HTML.escape(caption))</figcaption></figure>"
    }
}

extension HTMLReport {
    /// Quality evaluations that recorded each variant's size (sweeps since the quant_method axis).
    var sizedQuality: [StoredRun] {
        entries.filter { $0.kind == .quality && $0.status == .ok && !$0.config.synthetic && $0.summary[.weightsBytes, variant: "F32"] != nil }
    }

    /// Size against quality loss: one series per quantization method (rtn where a result records
    /// none), each type, recipe or mix a point labelled with its name, and each method's Pareto
    /// front (no other point of that method both smaller and closer to F32) ringed and joined.
    func methodTradeoff() -> SVGChart {
        let quality = sizedQuality
        let models = Set(quality.map(\.config.model)).sorted()
        struct Found { var series: String; var method: String; var bits: Double; var kld: Double; var label: String }
        var found: [Found] = []
        for e in quality {
            guard let f32 = e.summary[.weightsBytes, variant: "F32"], f32 > 0 else { continue }
            for key in e.summary.values.keys where key.hasSuffix(".\(Metric.kld.key)") {
                let variant = String(key.dropLast(Metric.kld.key.count + 1))
                guard let kld = e.summary[.kld, variant: variant], kld > 0, let bytes = e.summary[.weightsBytes, variant: variant] else { continue }
                let series = models.count > 1 ? "\(e.config.model) \(e.config.method)" : e.config.method
                found.append(Found(series: series, method: e.config.method, bits: 32 * bytes / f32, kld: kld, label: Self.variantLabel(variant)))
            }
        }
        // Palette order: blue, orange, green, vermillion, pink — the two calibrated methods most
        // often side by side (imatrix, gptq) get orange and green, which stay apart, not orange and
        // vermillion. With one model the marker is the method's too, so a point's method does not
        // rest on colour alone; with several, the marker tells the models apart.
        let methods = ["rtn", "imatrix", "gptq", "awq", "smoothquant"]
        let groups = Dictionary(grouping: found, by: \.series)
        let series: [SVGChart.Series] = groups.keys.sorted().map { name in
            let points = groups[name]!
            let method = points[0].method
            let colour = methods.firstIndex(of: method) ?? methods.count
            let markerIndex = models.count == 1 ? colour : (models.firstIndex(of: String(name.split(separator: " ").first ?? "")) ?? 0)
            let marker = SVGChart.Marker.allCases[markerIndex % SVGChart.Marker.allCases.count]
            return .init(name: name, points: points.map { p in
                let dominated = points.contains { $0.bits <= p.bits && $0.kld <= p.kld && ($0.bits < p.bits || $0.kld < p.kld) }
                return .init(x: p.bits, y: p.kld, label: p.label, marked: !dominated)
            }, lines: false, style: SVGChart.Style(color: colour, marker: marker), front: true)
        }
        let requantized = Set(quality.map(\.config.model)).compactMap { sourceWeights[$0] }.sorted()
        // Short enough to fit beside the plot; the caveat's words are under the chart.
        let against = requantized.isEmpty ? "F32" : "F32, \(requantized.joined(separator: "/")) source †"
        return SVGChart(title: "Quantization trade-off: size vs quality loss, per method", xLabel: "bits per weight (all tensors)",
                        yLabel: "mean KLD vs \(against) (log)", series: series, logY: true)
    }

    /// A variant's name for a point label: a mix file by its file name.
    static func variantLabel(_ variant: String) -> String {
        guard variant.lowercased().hasPrefix("mix:") else { return variant }
        return "mix:" + URL(fileURLWithPath: String(variant.dropFirst(4))).lastPathComponent
    }

    /// The section on quantization methods, mixes and sensitivities; empty when the results hold
    /// neither sized quality evaluations nor sensitivities.
    func quantizationSection() -> String {
        guard !sizedQuality.isEmpty || !sensitivity.isEmpty else { return "" }
        var html = "<h2>Quantization: methods, mixes and sensitivity</h2>"
        if !sizedQuality.isEmpty {
            html += "<div class=\"tradeoff\">" + methodTradeoff().render() + "</div>"
            html += "<p class=\"meta\">Each point is a type, recipe or mix measured against the F32 conversion of the same weights; ringed points joined by a dashed line in their method's colour are that method's Pareto front (no other point of the method is both smaller and closer to F32). Bits per weight count every tensor's bytes over every tensor's elements. A method's calibration text is in each result's configuration (calibration), the evaluation text in its record.</p>"
            html += caveats(for: sizedQuality.map(\.config.model), mark: "†")
        }
        for map in sensitivity { html += "<div class=\"sensitivity\">" + map.render() + "</div>" }
        return html
    }
}
