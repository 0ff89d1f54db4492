import Foundation
import Measures
import ResultStore

extension ComparisonReport {
    /// Side colours (Okabe and Ito), one per side; predicted sides are also hatched.
    static let sideColors = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]

    public func html() -> String {
        var h = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        h += "<title>\(HTML.escape(title))</title><style>\(HTMLReport.css)\(Self.css)</style></head><body>"
        h += "<h1>\(HTML.escape(title))</h1>"
        h += "<ul class=\"sides\">" + sides.enumerated().map { i, s in
            "<li><span class=\"swatch\" style=\"background:\(Self.sideColors[i % Self.sideColors.count])\"></span><b>\(HTML.escape(s.letter))</b> · "
                + "\(HTML.escape(s.device))\(s.kind == .predicted ? "" : ", sweep " + HTML.escape(s.name)) "
                + "<span class=\"side-\(s.kind.rawValue)\">(\(HTML.escape(s.kindText)))</span>"
                + (s.errorLabel.map { " — ± is the \(HTML.escape($0))" } ?? "") + "</li>"
        }.joined() + "</ul>"
        h += "<p class=\"meta\">\(HTML.escape(generatedBy))</p>"

        h += "<h2>The answer per device</h2>"
        for (i, s) in sides.enumerated() {
            h += "<h3 class=\"side\"><span class=\"swatch\" style=\"background:\(Self.sideColors[i % Self.sideColors.count])\"></span>\(HTML.escape(s.letter)) · \(HTML.escape(s.device)) <span class=\"side-\(s.kind.rawValue)\">(\(HTML.escape(s.kindText)))</span></h3>"
            h += s.decision.html(compact: true)
            if let cloud = cloudLine(s) { h += "<p class=\"cost\">\(HTML.escape(cloud))</p>" }
        }

        let comparisons = comparisons()
        let configs = configurations()
        h += "<h2>Decode speed side by side</h2>" + decodeBars(configs)
        for column in Column.allCases {
            h += "<h2>\(HTML.escape(column.title))</h2><div class=\"scroll\"><table class=\"compare\"><thead><tr><th>configuration</th>"
            for (i, s) in sides.enumerated() {
                h += "<th class=\"side-\(s.kind.rawValue)\">\(HTML.escape(s.letter))\(s.kind == .predicted ? " (predicted)" : "")</th>"
                if i > 0 && column != .memory { h += "<th>\(HTML.escape(s.letter)) ÷ A</th>" }
            }
            h += "</tr></thead><tbody>"
            for (key, config, rows) in configs {
                guard rows.contains(where: { $0.flatMap(column.value) != nil }) else { continue }
                h += "<tr><td>\(HTML.escape(Self.configText(config)))</td>"
                for i in sides.indices {
                    let c = cell(rows[i], column)
                    let cls = rows[i]?.kind == .prediction ? " class=\"predicted\"" : (c.note != nil ? " class=\"flagged\"" : "")
                    h += "<td\(cls)\(c.note.map { " title=\"\(HTML.escape($0))\"" } ?? "")>\(HTML.escape(c.text))</td>"
                    if i > 0 && column != .memory {
                        let r = ratio(rows, side: i, column: column, comparison: comparisons[i], key: key)
                        h += "<td class=\"ratio\(r.significant == true ? " significant" : "")\">\(HTML.escape(r.text))</td>"
                    }
                }
                h += "</tr>"
            }
            h += "</tbody></table></div>"
        }
        h += "<h2>Notes</h2><ul>" + notes().map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>"
        h += "<h2>Hardware</h2><div class=\"scroll\"><table class=\"kv\"><tr><th>side</th><th>profile</th><th>CPU</th><th>cores</th><th>read bandwidth</th></tr>"
        for s in sides {
            guard let p = s.profile else { h += "<tr><td>\(HTML.escape(s.letter))</td><td colspan=\"4\">no profile found</td></tr>"; continue }
            let bw = (p.bandwidth?.points ?? []).compactMap { pt in pt.readGBps.map { String(format: "%.1f GB/s at %d thr", $0.median, pt.threads) } }.joined(separator: ", ")
            h += "<tr><td>\(HTML.escape(s.letter))</td><td>\(HTML.escape(p.name)) \(HTML.escape(p.fingerprint)) (\(p.measured ? "probed" : "spec sheet"))</td><td>\(HTML.escape(p.cpu.vendor + " " + p.cpu.model))</td>"
                + "<td>\(p.cpu.physicalCores)</td><td>\(HTML.escape(bw.isEmpty ? "—" : bw))</td></tr>"
        }
        h += "</table></div></body></html>\n"
        return h
    }

    /// Decode speed per configuration, one bar per side. A predicted bar is hatched with its
    /// validated error as a whisker; a flagged run's bar is hollow, its flags in its title.
    func decodeBars(_ configs: [(key: String, config: RunConfig, rows: [StoredRun?])]) -> String {
        let shown = configs.filter { $0.rows.contains { $0.flatMap(Column.decode.value) != nil } }.prefix(40)
        guard !shown.isEmpty else { return "<p class=\"empty\">No decode figures.</p>" }
        let values = shown.flatMap { $0.rows.compactMap { r in r.flatMap(Column.decode.value).map { $0 * (1 + (r.flatMap(Column.decode.error) ?? 0)) } } }
        let most = max(values.max() ?? 1, 1e-9)
        let barH = 9.0, gap = 8.0, left = 250.0, width = 800.0, top = 44.0
        let groupH = Double(sides.count) * barH + gap
        let height = top + Double(shown.count) * groupH + 30
        let span = width - left - 110
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        let title = "Decode speed per configuration, one bar per side (tokens/s)"
        let desc = "Horizontal bars: for each configuration, decode tokens per second on " + sides.map { "\($0.letter) (\($0.device), \($0.kindText))" }.joined(separator: ", ")
            + ". Hatched bars are predictions with their validated error as a whisker; hollow bars are flagged runs."
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"wide\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-labelledby=\"cbt cbd\">"
        svg += "<title id=\"cbt\">\(HTML.escape(title))</title><desc id=\"cbd\">\(HTML.escape(desc))</desc>"
        svg += "<defs>" + sides.indices.map { i in
            "<pattern id=\"hatch\(i)\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#fff\"/><rect width=\"3\" height=\"6\" fill=\"\(Self.sideColors[i % Self.sideColors.count])\"/></pattern>"
        }.joined() + "</defs>"
        svg += "<text x=\"10\" y=\"18\" class=\"title\">\(HTML.escape(title))</text>"
        var x = 10.0
        for (i, s) in sides.enumerated() {
            let color = Self.sideColors[i % Self.sideColors.count]
            let fill = s.kind == .predicted ? "url(#hatch\(i))" : color
            svg += "<rect x=\"\(f(x))\" y=\"28\" width=\"14\" height=\"9\" fill=\"\(fill)\" stroke=\"\(color)\"/>"
            let text = "\(s.letter) \(s.device)\(s.kind == .predicted ? " (predicted)" : "")"
            svg += "<text x=\"\(f(x + 18))\" y=\"36\" class=\"legend\">\(HTML.escape(text))</text>"
            x += 18 + Double(text.count) * 6 + 16
        }
        for (g, item) in shown.enumerated() {
            let y0 = top + Double(g) * groupH
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y0 + Double(sides.count) * barH / 2 + 4))\" class=\"tick\" text-anchor=\"end\">\(HTML.escape(SVGChart.shorten(Self.configText(item.config), 42)))</text>"
            for (i, r) in item.rows.enumerated() {
                guard let r, let v = Column.decode.value(r) else { continue }
                let color = Self.sideColors[i % Self.sideColors.count]
                let y = y0 + Double(i) * barH
                let w = max(1, span * v / most)
                let flags = r.runFlags.map(\.rawValue)
                let predicted = r.kind == .prediction
                let paint = predicted ? "fill=\"url(#hatch\(i))\" stroke=\"\(color)\"" : flags.isEmpty ? "fill=\"\(color)\"" : "fill=\"#fff\" stroke=\"\(color)\" stroke-width=\"1.5\" class=\"flagged\""
                let tip = "\(sides[i].letter) \(Self.configText(item.config)): \(String(format: "%.1f", v)) t/s" + (predicted ? " predicted" + (Column.decode.error(r).map { String(format: " ±%.0f%%", $0 * 100) } ?? "") : "")
                    + (flags.isEmpty ? "" : " ⚑ " + flags.joined(separator: ","))
                svg += "<rect x=\"\(f(left))\" y=\"\(f(y))\" width=\"\(f(w))\" height=\"\(f(barH - 1.5))\" \(paint)><title>\(HTML.escape(tip))</title></rect>"
                var end = left + w
                if predicted, let e = Column.decode.error(r) {
                    let lo = left + span * v * max(0, 1 - e) / most, hi = left + span * v * (1 + e) / most
                    let mid = y + (barH - 1.5) / 2
                    svg += "<line x1=\"\(f(lo))\" y1=\"\(f(mid))\" x2=\"\(f(hi))\" y2=\"\(f(mid))\" stroke=\"#333\" stroke-width=\"1\"/>"
                    svg += "<line x1=\"\(f(lo))\" y1=\"\(f(mid - 3))\" x2=\"\(f(lo))\" y2=\"\(f(mid + 3))\" stroke=\"#333\"/><line x1=\"\(f(hi))\" y1=\"\(f(mid - 3))\" x2=\"\(f(hi))\" y2=\"\(f(mid + 3))\" stroke=\"#333\"/>"
                    end = max(end, hi)
                }
                let error = predicted ? (Column.decode.error(r).map { String(format: " ±%.0f%%", $0 * 100) } ?? "") : ""
                svg += "<text x=\"\(f(end + 4))\" y=\"\(f(y + barH - 2))\" class=\"label\">\(String(format: v >= 100 ? "%.0f" : "%.1f", v))\(error)\(flags.isEmpty ? "" : " ⚑")</text>"
            }
        }
        svg += "<text x=\"10\" y=\"\(f(height - 10))\" class=\"axis\">Hatched: predicted (whisker: ± validated error). Hollow ⚑: a flagged run (noisy or drifting). * synthetic model.</text>"
        svg += "</svg>"
        return "<figure>\(svg)</figure>"
    }

    static let css = """
        ul.sides{list-style:none;padding:0;margin:8px 0}ul.sides li{margin:3px 0}.swatch{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:-1px;border:1px solid #0003}
        h3.side{font-size:17px;margin:22px 0 4px}td.predicted{color:#8a4b00}td.flagged{color:#555;font-style:italic}
        table.compare td{text-align:right}table.compare th:first-child{text-align:left}table.compare td.ratio{text-align:left}td.ratio{text-align:left;white-space:nowrap}table.compare td{white-space:nowrap}td.ratio.significant{font-weight:600}table.compare td:first-child{text-align:left;white-space:nowrap}
        p.cost{margin:6px 0 0}
        """
}
