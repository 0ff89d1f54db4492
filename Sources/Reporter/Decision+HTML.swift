import Foundation
import Measures
import ResultStore

extension Decision {
    /// The summary as HTML: the constraints, the recommended configuration's figures beside the
    /// runner-up's, what the runner-up trades, and what weakens the answer. `compact` leaves the
    /// runner-up's figure table out (the comparison report shows several devices).
    public func html(compact: Bool = false) -> String {
        var h = "<section class=\"decision\">"
        let meeting = recommendation.feasible.count, total = recommendation.feasible.count + recommendation.rejected.count
        h += "<p class=\"constraints\"><b>Constraints:</b> " + (stated.isEmpty ? "none" : stated.map(HTML.escape).joined(separator: "; "))
            + ". \(meeting) of \(total) configuration\(total == 1 ? "" : "s") on \(HTML.escape(device)) meet\(meeting == 1 && total == 1 ? "s" : "") them (\(HTML.escape(basis))).</p>"
        guard let pick = recommended else {
            h += "<div class=\"card none\"><h3>Nothing meets every constraint</h3>"
            if let fastest = recommendation.rejected.first {
                h += "<p>The fastest configuration, \(HTML.escape(Self.describe(fastest.run.config))), fails: \(HTML.escape(fastest.rejections.joined(separator: "; "))).</p>"
            }
            if let closest = closest, closest.run.key != recommendation.rejected.first?.run.key {
                h += "<p>The closest, \(HTML.escape(Self.describe(closest.run.config))), fails only: \(HTML.escape(closest.rejections.joined(separator: "; "))).</p>"
            }
            h += "<p>Loosen a constraint (slmbench report … --min-decode-tps, --max-kld, --max-memory) or measure other configurations.</p></div>"
            return h + weaknessList() + "</section>"
        }
        h += "<div class=\"cards\">"
        h += card(pick, role: "Recommended", css: "pick")
        if let second = runnerUp {
            h += card(second, role: "Runner-up", css: "second", figures: !compact)
        } else {
            h += "<div class=\"card second\"><h3>Runner-up</h3><p>No other configuration meets the constraints.</p></div>"
        }
        h += "</div>"
        return h + weaknessList() + "</section>"
    }

    func card(_ c: Recommendation.Candidate, role: String, css: String, figures showFigures: Bool = true) -> String {
        var h = "<div class=\"card \(css)\" data-config=\"\(HTML.escape(Self.identity(c.run.config)))\">"
        h += "<h3>\(role): \(HTML.escape(Self.describe(c.run.config)))</h3>"
        if css == "second", let pick = recommended {
            let t = trades(c, against: pick)
            if !t.isEmpty { h += "<p class=\"trades\"><b>Trades:</b> \(t.map(HTML.escape).joined(separator: "; ")).</p>" }
        }
        if showFigures {
            // Two columns, the basis under its value: readable at a phone's width and on paper.
            h += "<table class=\"kv figures\"><tbody>"
            for f in figures(c) {
                let warn = f.basis.hasPrefix("⚠") ? " caveat" : ""
                h += "<tr><th>\(HTML.escape(f.name))</th><td><span class=\"value\">\(HTML.escape(f.value))</span><br><span class=\"basis\(warn)\">\(HTML.escape(f.basis))</span></td></tr>"
            }
            h += "</tbody></table>"
        }
        return h + "</div>"
    }

    func weaknessList() -> String {
        let w = weaknesses()
        guard !w.isEmpty else { return "<p class=\"flags\">Nothing flagged weakens this answer.</p>" }
        return "<div class=\"flags\"><b>What weakens this answer:</b><ul>" + w.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul></div>"
    }

    /// The summary as Markdown, for the comparison report's md form.
    public func markdown() -> String {
        var lines = ["Constraints: " + (stated.isEmpty ? "none" : stated.joined(separator: "; ")) + " (\(basis))."]
        guard let pick = recommended else {
            lines.append("")
            lines.append("Nothing meets every constraint" + (recommendation.rejected.first.map { "; the fastest, \(Self.describe($0.run.config)), fails: \($0.rejections.joined(separator: "; "))" } ?? "") + ".")
            return (lines + weaknesses().map { "- \($0)" }).joined(separator: "\n")
        }
        lines += ["", "**Recommended: \(Self.describe(pick.run.config))**", "", "| figure | value | how it was obtained |", "|---|---|---|"]
        lines += figures(pick).map { "| \($0.name) | \(ResultsTable.escape($0.value)) | \(ResultsTable.escape($0.basis)) |" }
        if let second = runnerUp {
            lines += ["", "Runner-up: \(Self.describe(second.run.config)) — trades " + trades(second, against: pick).joined(separator: "; ") + "."]
        }
        let w = weaknesses()
        if !w.isEmpty { lines += ["", "What weakens this answer:"] + w.map { "- \($0)" } }
        return lines.joined(separator: "\n")
    }

    /// CSS for the summary cards, shared by both reports.
    static let css = """
        .decision .cards{display:grid;align-items:start;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:12px;margin:8px 0}
        .card{border:1px solid #ccc;border-radius:6px;padding:8px 12px;background:#fafafa}.card.pick{border:2px solid #0072B2;background:#f3f8fc}
        .card h3{font-size:16px;margin:4px 0 8px}.card table.figures{width:100%;font-size:13px}.card table.figures{border:none}.card table.figures th{width:7.5em;vertical-align:top;background:none;border:none;border-top:1px solid #e3e3e3}
        .card table.figures td{border:none;border-top:1px solid #e3e3e3}.card .value{font-weight:600;font-size:14px}.card .basis{color:#555;font-size:12px}
        .caveat,.card .basis.caveat{color:#8a4b00}.flags ul{margin:4px 0 0 0;padding-left:20px}.flags{margin:8px 0}.trades{margin:4px 0 8px}
        p.constraints{margin:4px 0}
        """
}
