import Foundation

/// A small inline-SVG chart: lines or points per series, labelled axes with units, a legend,
/// optional reference lines (ceilings). No scripts, no external fonts; every text is escaped.
/// Series are told apart by colour (a colour-blind-safe palette), marker and line style together:
/// no two series of one chart share a colour and a marker while the palette and markers last
/// (7 × 6 series). Point labels that would overlap are left out and listed under the chart.
struct SVGChart {
    enum Marker: Int, CaseIterable, Sendable { case circle, square, triangle, diamond, triangleDown, star }
    /// Indices into `palette`, `Marker.allCases` and `dashes`.
    struct Style: Hashable, Sendable { var color: Int; var marker: Marker; var dash: Int = 0 }
    /// `marked`: ringed (a change point, a Pareto point). `flags`: the run's quality flags (`drift`,
    /// `high-cv`, `ci-not-reached`); a flagged point is drawn hollow, the flags in its title.
    struct Point {
        var x: Double; var y: Double; var label: String? = nil; var marked = false; var flags: [String] = []
        var hollow: Bool { !flags.isEmpty }
    }
    /// `style`: the series' wish (e.g. colour by type, marker by backend, dash by model); one taken
    /// by an earlier series, or none, gets the first free colour and marker.
    /// `front`: the series' own marked points joined by a dashed line in its colour (one Pareto
    /// front per series, where `frontName` draws one over all series).
    struct Series { var name: String; var points: [Point]; var lines = true; var style: Style? = nil; var front = false }
    /// A reference line y = f(x) drawn over the plot range (e.g. a bandwidth or compute roof);
    /// `color` and `dash` tell several apart (default: dark grey, then light grey, dashed).
    struct Ceiling { var name: String; var f: (Double) -> Double; var color: String? = nil; var dash = "6 4" }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    var ceilings: [Ceiling] = []
    var logX = false
    var logY = false
    var width = 720.0
    var height = 380.0
    /// A line joining the marked points (the Pareto front), drawn dashed.
    var frontName: String?
    /// What a hollow point means, for the legend and the description.
    var hollowMeaning = (legend: "hollow: flagged (noisy or drift)", description: "Hollow points are runs flagged as noisy or drifting.")

    /// Okabe and Ito's colour-blind-safe colours, black left out (it draws marks and fronts).
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442"]
    static let dashes = ["", "6 3", "2 3", "8 3 2 3"]

    /// Each series' style, in order: its own unless an earlier series has that colour and marker,
    /// else the first colour-and-marker pair no earlier series has (styles repeat only past
    /// palette × markers series).
    func styles() -> [Style] {
        var taken = Set<[Int]>(), out: [Style] = []
        let all = Marker.allCases.flatMap { m in Self.palette.indices.map { Style(color: $0, marker: m) } }
        for (i, s) in series.enumerated() {
            var style = s.style.map { Style(color: $0.color % Self.palette.count, marker: $0.marker, dash: $0.dash % Self.dashes.count) }
                ?? all[i % all.count]
            if taken.contains([style.color, style.marker.rawValue]), let free = all.first(where: { !taken.contains([$0.color, $0.marker.rawValue]) }) {
                style.color = free.color; style.marker = free.marker
            }
            taken.insert([style.color, style.marker.rawValue])
            out.append(style)
        }
        return out
    }

    /// The chart in a `<figure>`, with a caption listing labels left out for overlap.
    func render() -> String {
        let (svg, dropped) = renderSVG()
        guard let svg else {
            return "<figure><figcaption>\(HTML.escape(title))</figcaption><p class=\"empty\">No data for this chart in these results.</p></figure>"
        }
        let caption = dropped.isEmpty ? "" : "<figcaption>Labels left out where they would overlap: \(dropped.map(HTML.escape).joined(separator: "; ")).</figcaption>"
        return "<figure>\(svg)\(caption)</figure>"
    }

    /// The `<svg>` element (nil when no point can be drawn) and the labels left out.
    func renderSVG() -> (svg: String?, dropped: [String]) {
        let points = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logX || $0.x > 0) && (!logY || $0.y > 0) }
        guard !points.isEmpty else { return (nil, []) }
        let left = 70.0, right = 250.0, top = 36.0, bottom = 52.0
        let plotW = width - left - right, plotH = height - top - bottom
        func t(_ v: Double, _ log: Bool) -> Double { log ? Foundation.log10(v) : v }
        let xs = points.map { t($0.x, logX) }
        var ys = points.map { t($0.y, logY) }
        var (x0, x1) = (xs.min()!, xs.max()!), (y0, y1) = (logY ? ys.min()! : Swift.min(0, ys.min()!), ys.max()!)
        for c in ceilings {
            for x in [x0, x1] { let v = c.f(logX ? pow(10, x) : x); if v.isFinite && (!logY || v > 0) { ys.append(t(v, logY)) } }
        }
        y1 = Swift.max(y1, Swift.min(ys.max()!, y1 * (logY ? 1.5 : 3))) // ceilings may lift the top, within reason
        if x0 == x1 { x0 -= 1; x1 += 1 }
        let wholeX = !logX && Self.fewWholeValues(points)
        if wholeX { let pad = Swift.max(0.2, (x1 - x0) * 0.04); x0 -= pad; x1 += pad }
        if logX { let pad = (x1 - x0) * 0.05; x0 -= pad; x1 += pad }
        if y0 == y1 { y1 = y0 + 1 }
        if !logY { y1 += (y1 - y0) * 0.04 } // a point at the maximum sits inside the frame, not on it
        // Few whole-number x values (threads, batch sizes): tick exactly those.
        let xTicks = wholeX ? Set(points.map(\.x)).sorted() : Self.ticks(x0, x1, log: logX)
        let yTicks = Self.ticks(y0, y1, log: logY)
        x0 = Swift.min(x0, xTicks.first ?? x0); x1 = Swift.max(x1, xTicks.last ?? x1)
        y0 = Swift.min(y0, yTicks.first ?? y0); y1 = Swift.max(y1, yTicks.last ?? y1)
        func px(_ x: Double) -> Double { left + (t(x, logX) - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + plotH - (t(y, logY) - y0) / (y1 - y0) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        let clipID = title.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) } & 0xFFFFFF
        let styles = styles()
        let flagged = points.contains(where: \.hollow)
        let description = "\(yLabel) against \(xLabel). Series: \(series.map(\.name).joined(separator: "; "))."
            + (flagged ? " " + hollowMeaning.description : "")
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-labelledby=\"t\(clipID) d\(clipID)\">"
        svg += "<title id=\"t\(clipID)\">\(HTML.escape(title))</title><desc id=\"d\(clipID)\">\(HTML.escape(description))</desc>"
        svg += "<text x=\"\(f(left))\" y=\"20\" class=\"title\">\(HTML.escape(title))</text>"
        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" class=\"frame\"/>"
        for v in xTicks where v >= x0 && v <= x1 {
            let x = left + (v - x0) / (x1 - x0) * plotW
            svg += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plotH))\" class=\"grid\"/>"
            svg += "<text x=\"\(f(x))\" y=\"\(f(top + plotH + 16))\" class=\"tick\" text-anchor=\"middle\">\(Self.format(logX ? pow(10, v) : v))</text>"
        }
        for v in yTicks where v >= y0 && v <= y1 {
            let y = top + plotH - (v - y0) / (y1 - y0) * plotH
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y))\" class=\"grid\"/>"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" class=\"tick\" text-anchor=\"end\">\(Self.format(logY ? pow(10, v) : v))</text>"
        }
        svg += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 12))\" class=\"axis\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>"
        svg += "<text transform=\"translate(16 \(f(top + plotH / 2))) rotate(-90)\" class=\"axis\" text-anchor=\"middle\">\(HTML.escape(yLabel))</text>"
        svg += "<clipPath id=\"c\(clipID)\"><rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\"/></clipPath>"
        enum Key { case series(Style, lines: Bool), dash(String, String), hollow }
        var legend: [(String, Key)] = []
        for (i, c) in ceilings.enumerated() {
            let steps = 60
            var d = ""
            for s in 0...steps {
                let xt = x0 + (x1 - x0) * Double(s) / Double(steps)
                let x = logX ? pow(10, xt) : xt
                let y = c.f(x)
                guard y.isFinite, !logY || y > 0 else { continue }
                d += (d.isEmpty ? "M" : "L") + "\(f(px(x))) \(f(py(y))) "
            }
            let color = c.color ?? (i == 0 ? "#555" : "#999")
            svg += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" stroke-dasharray=\"\(c.dash)\" clip-path=\"url(#c\(clipID))\"/>"
            legend.append((c.name, .dash(color, c.dash)))
        }
        // Labels go where they overlap nothing placed before (points first, then labels), trying
        // four corners of their point, then above and below it; a label with no free place is
        // left out and listed.
        var pointBoxes = points.map { Box(x: px($0.x) - (($0.marked) ? 9 : 4), y: py($0.y) - (($0.marked) ? 9 : 4), w: $0.marked ? 18 : 8, h: $0.marked ? 18 : 8) }
        // The front's line is an obstacle too: a label printed over it reads as part of it.
        if frontName != nil {
            let front = series.flatMap(\.points).filter(\.marked).sorted { $0.x < $1.x }
            for (a, b) in zip(front, front.dropFirst()) {
                let (ax, ay, bx, by) = (px(a.x), py(a.y), px(b.x), py(b.y))
                let steps = max(1, Int((hypot(bx - ax, by - ay) / 4).rounded(.up)))
                for k in 0...steps {
                    let t = Double(k) / Double(steps)
                    pointBoxes.append(Box(x: ax + (bx - ax) * t - 1.5, y: ay + (by - ay) * t - 1.5, w: 3, h: 3))
                }
            }
        }
        let plot = Box(x: left, y: top, w: plotW, h: plotH)
        var labelBoxes: [Box] = [], dropped: [String] = []
        var labels = ""
        for (i, s) in series.enumerated() {
            let style = styles[i], color = Self.palette[style.color]
            let pts = s.points.filter { $0.x.isFinite && $0.y.isFinite && (!logX || $0.x > 0) && (!logY || $0.y > 0) }
            let own = pts.filter(\.marked).sorted { $0.x < $1.x }
            // One front per series, named by it (a front of one point is that point's ring alone).
            if s.front && !own.isEmpty {
                let d = own.enumerated().map { ($0.offset == 0 ? "M" : "L") + "\(f(px($0.element.x))) \(f(py($0.element.y)))" }.joined(separator: " ")
                svg += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\" class=\"front\" data-series=\"\(HTML.escape(s.name))\"/>"
            }
            if s.lines && pts.count > 1 {
                let d = pts.sorted { $0.x < $1.x }.enumerated().map { ($0.offset == 0 ? "M" : "L") + "\(f(px($0.element.x))) \(f(py($0.element.y)))" }.joined(separator: " ")
                let dash = Self.dashes[style.dash].isEmpty ? "" : " stroke-dasharray=\"\(Self.dashes[style.dash])\""
                svg += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dash)/>"
            }
            for p in pts {
                let classes = ["point"] + (p.hollow ? ["flagged"] : []) + (p.marked ? ["marked"] : [])
                // A marked point keeps its series' colour (hollow or filled) inside a black ring.
                if p.marked { svg += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"9\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\"/>" }
                let paint = (p.hollow ? "fill=\"#fff\" stroke=\"\(color)\" stroke-width=\"2\"" : "fill=\"\(color)\"") + " class=\"\(classes.joined(separator: " "))\""
                let note = p.hollow ? " ⚑ " + p.flags.joined(separator: ",") : ""
                let title = "<title>\(HTML.escape(s.name))\(p.label.map { ": " + HTML.escape($0) } ?? "") (\(Self.format(p.x)), \(Self.format(p.y)))\(HTML.escape(note))</title>"
                svg += Self.marker(style.marker, x: px(p.x), y: py(p.y), r: p.marked ? 5 : 4, attributes: paint, title: title)
                guard let label = p.label else { continue }
                let w = Double(label.count) * 5.6 + 2, h = 11.0
                // Clear of the point's ring when it has one.
                let d = p.marked ? 10.0 : 6.0, v = p.marked ? 9.0 : 5.0
                let corners = [(d, -v - h), (d, v), (-d - w, -v - h), (-d - w, v), (-w / 2, -v - 2 - h), (-w / 2, v + 2), (d, -h / 2), (-d - w, -h / 2)]
                let free = corners.map { Box(x: px(p.x) + $0.0, y: py(p.y) + $0.1, w: w, h: h) }.first { box in
                    plot.contains(box) && !labelBoxes.contains { $0.overlaps(box) } && !pointBoxes.contains { $0.overlaps(box) }
                }
                guard let box = free else { dropped.append("\(s.name): \(label)"); continue }
                labelBoxes.append(box)
                labels += "<text x=\"\(f(box.x))\" y=\"\(f(box.y + h - 2))\" class=\"label\">\(HTML.escape(label))</text>"
            }
            legend.append((s.name, .series(style, lines: s.lines)))
        }
        svg += labels
        if let frontName {
            let front = series.flatMap(\.points).filter(\.marked).sorted { $0.x < $1.x }
            if front.count > 1 {
                let d = front.enumerated().map { ($0.offset == 0 ? "M" : "L") + "\(f(px($0.element.x))) \(f(py($0.element.y)))" }.joined(separator: " ")
                svg += "<path d=\"\(d)\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\" stroke-dasharray=\"2 3\"/>"
            }
            legend.append((frontName, .dash("#000", "2 3")))
        }
        if flagged { legend.append((hollowMeaning.legend, .hollow)) }
        for (i, item) in legend.prefix(16).enumerated() {
            let y = top + 8 + Double(i) * 18
            let x = left + plotW + 14
            switch item.1 {
            case .dash(let color, let dash):
                svg += "<line x1=\"\(f(x))\" y1=\"\(f(y))\" x2=\"\(f(x + 18))\" y2=\"\(f(y))\" stroke=\"\(color)\" stroke-width=\"2\" stroke-dasharray=\"\(dash)\"/>"
            case .series(let style, let lines):
                let color = Self.palette[style.color]
                if lines {
                    let dash = Self.dashes[style.dash].isEmpty ? "" : " stroke-dasharray=\"\(Self.dashes[style.dash])\""
                    svg += "<line x1=\"\(f(x))\" y1=\"\(f(y))\" x2=\"\(f(x + 18))\" y2=\"\(f(y))\" stroke=\"\(color)\" stroke-width=\"2\"\(dash)/>"
                }
                svg += Self.marker(style.marker, x: x + 9, y: y, r: 4, attributes: "fill=\"\(color)\"", title: "")
            case .hollow:
                svg += "<circle cx=\"\(f(x + 9))\" cy=\"\(f(y))\" r=\"4\" fill=\"#fff\" stroke=\"#555\" stroke-width=\"2\"/>"
            }
            svg += "<text x=\"\(f(x + 24))\" y=\"\(f(y + 4))\" class=\"legend\">\(HTML.escape(Self.shorten(item.0, 34)))</text>"
        }
        if legend.count > 16 { svg += "<text x=\"\(f(left + plotW + 14))\" y=\"\(f(top + 8 + 16 * 18))\" class=\"legend\">… \(legend.count - 16) more</text>" }
        svg += "</svg>"
        return (svg, dropped)
    }

    /// A marker of size `r` centred on (x, y).
    static func marker(_ m: Marker, x: Double, y: Double, r: Double, attributes: String, title: String) -> String {
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        switch m {
        case .circle:
            return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r))\" \(attributes)>\(title)</circle>"
        case .square:
            let s = r * 1.6
            return "<rect x=\"\(f(x - s / 2))\" y=\"\(f(y - s / 2))\" width=\"\(f(s))\" height=\"\(f(s))\" \(attributes)>\(title)</rect>"
        case .triangle:
            return "<polygon points=\"\(f(x)),\(f(y - r * 1.2)) \(f(x + r * 1.1)),\(f(y + r * 0.8)) \(f(x - r * 1.1)),\(f(y + r * 0.8))\" \(attributes)>\(title)</polygon>"
        case .diamond:
            return "<polygon points=\"\(f(x)),\(f(y - r * 1.3)) \(f(x + r * 1.1)),\(f(y)) \(f(x)),\(f(y + r * 1.3)) \(f(x - r * 1.1)),\(f(y))\" \(attributes)>\(title)</polygon>"
        case .triangleDown:
            return "<polygon points=\"\(f(x)),\(f(y + r * 1.2)) \(f(x + r * 1.1)),\(f(y - r * 0.8)) \(f(x - r * 1.1)),\(f(y - r * 0.8))\" \(attributes)>\(title)</polygon>"
        case .star:
            let corners = (0..<10).map { k -> String in
                let a = Double.pi / 5 * Double(k) - Double.pi / 2, radius = k % 2 == 0 ? r * 1.4 : r * 0.6
                return "\(f(x + radius * cos(a))),\(f(y + radius * sin(a)))"
            }
            return "<polygon points=\"\(corners.joined(separator: " "))\" \(attributes)>\(title)</polygon>"
        }
    }

    struct Box {
        var x, y, w, h: Double
        func overlaps(_ o: Box) -> Bool { x < o.x + o.w && o.x < x + w && y < o.y + o.h && o.y < y + h }
        func contains(_ o: Box) -> Bool { o.x >= x && o.y >= y && o.x + o.w <= x + w && o.y + o.h <= y + h }
    }

    static func fewWholeValues(_ points: [Point]) -> Bool {
        let d = Set(points.map(\.x))
        return d.count <= 12 && d.allSatisfy { $0 == $0.rounded() }
    }

    static func shorten(_ s: String, _ n: Int) -> String { s.count <= n ? s : String(s.prefix(n - 1)) + "…" }

    /// Round tick values covering [a, b] (in transformed units for log axes: whole decades and 2, 5).
    static func ticks(_ a: Double, _ b: Double, log: Bool) -> [Double] {
        if log {
            var out: [Double] = []
            // Over more than two decades, only the powers of ten; otherwise 1, 2 and 5 of each.
            let mantissas: [Double] = b - a > 2 ? [1] : [1, 2, 5]
            for e in Int(floor(a))...Int(ceil(b)) {
                for m in mantissas { out.append(Foundation.log10(m) + Double(e)) }
            }
            let inside = out.filter { $0 >= a - 1e-9 && $0 <= b + 1e-9 }
            return inside.count >= 2 ? inside : out.filter { $0 >= floor(a) && $0 <= ceil(b) }
        }
        let span = b - a
        let raw = span / 5
        let magnitude = pow(10, floor(Foundation.log10(raw)))
        let step = [1.0, 2.0, 2.5, 5.0, 10.0].map { $0 * magnitude }.first { span / $0 <= 6 } ?? 10 * magnitude
        var out: [Double] = []
        var v = floor(a / step) * step
        while v <= b + step * 0.5 && out.count < 20 { out.append(v); v += step }
        return out
    }

    static func format(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e9 { return String(format: "%.3gG", v / 1e9) }
        if a >= 1e6 { return String(format: "%.3gM", v / 1e6) }
        if a >= 1e4 { return String(format: "%.3gk", v / 1e3) }
        if a >= 100 || v == v.rounded() { return String(format: "%.0f", v) }
        return String(format: "%.3g", v)
    }
}

enum HTML {
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
