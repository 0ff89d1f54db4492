import Foundation
import Measures
import ResultStore

/// Results produced elsewhere — llama-bench's JSON, JSONL, CSV (LF or CRLF) or SQL output — read
/// as stored runs of the llama.cpp backend, so predictions can be validated against them. The
/// input is untrusted: every mistake names the file and the position (line, or row and field).
public enum ImportedResults {
    public struct ImportError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The fields slmbench reads from one llama-bench test. llama-bench reports either a prompt
    /// test (n_gen 0) or a generation test (n_prompt 0) per row; `avg_ts` is that test's t/s.
    struct LlamaBenchRow: Decodable {
        var model_filename: String?
        /// Corpus files (profiles/validation/*.csv) add: the model's key in models.yaml, the
        /// device the row was measured on, and the page it was published on.
        var model: String?
        var device: String?
        var source: String?
        var model_type: String
        var model_size: Int?
        var model_n_params: Int?
        var n_threads: Int
        var n_prompt: Int
        var n_gen: Int
        var n_depth: Int?
        var n_batch: Int?
        var n_ubatch: Int?
        var flash_attn: FlashAttention?
        var type_k: String?
        var avg_ts: Double
        var stddev_ts: Double?
        var samples_ts: [Double]?
        var build_commit: String?
        var build_number: Int?
        var cpu_info: String?
    }

    /// llama-bench's `flash_attn`: a JSON boolean in older builds; -1 (auto), 0 or 1 in newer ones;
    /// text in CSV and SQL. Kept as `on`, `off` or `auto`.
    struct FlashAttention: Decodable, Equatable {
        var value: String
        init?(text: String) {
            guard let v = ["1": "on", "true": "on", "on": "on", "0": "off", "false": "off", "off": "off", "-1": "auto", "auto": "auto"][text.lowercased()]
            else { return nil }
            value = v
        }
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            let text: String
            if let b = try? c.decode(Bool.self) { text = b ? "on" : "off" } else if let n = try? c.decode(Int.self) { text = String(n) } else { text = try c.decode(String.self) }
            guard let parsed = FlashAttention(text: text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(text)' is not -1 (auto), 0, 1, true or false")
            }
            self = parsed
        }
    }

    /// The tensor type in llama-bench's `model_type` ("llama 1B Q4_K - Medium", "qwen3 0.6B Q8_0",
    /// "llama 8B IQ4_NL - 4.5 bpw", "gemma3 270M BF16") as slmbench names it: `q4_k_m`, `q8_0`,
    /// `iq4_nl`, `bf16`. Nil when the string names none of the types llama-bench prints.
    public static func tensorType(modelType: String) -> String? {
        // llama.cpp's names for its file types (llama_model_ftype_name), without the "all " prefix.
        var words = modelType.split(separator: " ").map(String.init)
        // Older llama-bench builds and some tables print the mix as one word: Q4_K_M.
        if let i = words.firstIndex(where: { w in ["_S", "_M", "_L"].contains { w.uppercased().hasSuffix("_K" + $0) } }) {
            let w = words[i].uppercased()
            words[i] = String(w.dropLast(2))
            words.insert(contentsOf: ["-", ["S": "Small", "M": "Medium", "L": "Large"][String(w.suffix(1)), default: ""]], at: i + 1)
        }
        guard let start = words.firstIndex(where: { Self.baseTypes.contains($0.uppercased()) }) else { return nil }
        let base = words[start].lowercased()
        let rest = words[(start + 1)...].joined(separator: " ").lowercased()
        switch rest {
        case "": return base
        case "- small": return base == "q2_k" ? "q2_k_s" : base + "_s"
        case "- medium": return base == "q2_k" ? "q2_k" : base + "_m"
        case "- large": return base + "_l"
        default:
            // "- 4.5 bpw" (IQ types) and "- ternary"-style notes carry no extra distinction.
            if rest.hasPrefix("- "), rest.hasSuffix(" bpw") || base.hasPrefix("iq") || base.hasPrefix("tq") { return base }
            return nil
        }
    }

    static let baseTypes: Set<String> = [
        "F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ1_S", "IQ1_M",
        "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ3_XXS", "IQ3_XS", "IQ3_S", "IQ3_M", "IQ4_NL", "IQ4_XS", "TQ1_0", "TQ2_0", "MXFP4",
    ]

    public static func read(_ url: URL) throws(ImportError) -> [StoredRun] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw ImportError(description: "\(url.path): cannot read: \(error.localizedDescription)") }
        return try read(data: data, path: url.path)
    }

    /// The runs in llama-bench output held in memory; `path` names it in errors.
    public static func read(data: Data, path: String) throws(ImportError) -> [StoredRun] {
        let url = URL(fileURLWithPath: path)
        guard let text = String(data: data, encoding: .utf8) else { throw ImportError(description: "\(path): not UTF-8 text") }
        let trimmed = text.drop { $0.isWhitespace }
        var rows: [(LlamaBenchRow, String)] = []
        if trimmed.first == "[" {
            do { rows = try JSONDecoder().decode([LlamaBenchRow].self, from: data).enumerated().map { ($1, "row \($0 + 1)") } } catch {
                throw ImportError(description: "\(url.path): \(describe(error, rows: "row"))")
            }
        } else if trimmed.first == "{" {
            for (i, line) in Self.lines(text).enumerated() where !line.allSatisfy(\.isWhitespace) {
                do { rows.append((try JSONDecoder().decode(LlamaBenchRow.self, from: Data(line.utf8)), "line \(i + 1)")) } catch {
                    throw ImportError(description: "\(url.path):\(i + 1): \(describe(error, rows: nil))")
                }
            }
        } else if trimmed.hasPrefix("CREATE TABLE") || trimmed.hasPrefix("INSERT INTO") {
            rows = try sqlRows(text, path: url.path)
        } else {
            rows = try csvRows(text, path: url.path)
        }
        guard !rows.isEmpty else { throw ImportError(description: "\(url.path): no results in the file") }
        return try rows.map { row, position throws(ImportError) in try storedRun(row, position: position, path: url.path) }
    }

    static func describe(_ error: Error, rows: String?) -> String {
        func path(_ p: [CodingKey]) -> String {
            p.map { k -> String in
                guard let i = k.intValue else { return k.stringValue }
                return rows.map { "\($0) \(i + 1)" } ?? "[\(i)]"
            }.joined(separator: ": ")
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let c)?: return "\(path(c.codingPath + [key])): missing"
        case .typeMismatch(_, let c)?, .valueNotFound(_, let c)?: return "\(path(c.codingPath)): \(c.debugDescription)"
        case .dataCorrupted(let c)?:
            let underlying = c.underlyingError.map { " (\($0))" } ?? ""
            return "\(c.codingPath.isEmpty ? "" : path(c.codingPath) + ": ")\(c.debugDescription)\(underlying)"
        default: return "\(error)"
        }
    }

    /// The bounds slmbench's own runs have (a sweep spec's): counts past them are refused, as
    /// arithmetic on them downstream (n_prompt + n_gen, tokens × batch) would wrap.
    static let maxThreads = 4096, maxTokens = 1 << 20

    static func storedRun(_ row: LlamaBenchRow, position: String, path: String) throws(ImportError) -> StoredRun {
        func fail(_ s: String) -> ImportError { ImportError(description: "\(path): \(position): \(s)") }
        guard row.avg_ts.isFinite, row.avg_ts > 0 else { throw fail("avg_ts \(row.avg_ts) is not a positive rate") }
        guard row.n_threads > 0, row.n_threads <= maxThreads else { throw fail("n_threads \(row.n_threads) must be 1 to \(maxThreads)") }
        for (field, count) in [("n_prompt", row.n_prompt), ("n_gen", row.n_gen), ("n_depth", row.n_depth ?? 0)] where !(0...maxTokens).contains(count) {
            throw fail("\(field) \(count) must be 0 to \(maxTokens)")
        }
        guard row.n_prompt > 0 || row.n_gen > 0 else { throw fail("n_prompt \(row.n_prompt) and n_gen \(row.n_gen) describe no test") }
        guard let type = tensorType(modelType: row.model_type) else {
            throw fail("model_type '\(row.model_type)' names no tensor type llama-bench prints (e.g. 'llama 1B Q4_K - Medium')")
        }
        let name = row.model_filename.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent } ?? row.model ?? row.model_type
        let config = RunConfig(model: name, modelType: type, backend: "llama.cpp", nThreads: row.n_threads, nSeq: 1, nPrompt: row.n_prompt,
                               nGen: row.n_gen, nDepth: row.n_depth ?? 0, kvType: row.type_k ?? "f16", placement: "none", cpus: [],
                               modelSize: row.model_size, modelNParams: row.model_n_params, synthetic: false)
        let generation = row.n_gen > 0
        var environment: [String: Any] = [:]
        if let c = row.cpu_info { environment["cpu_info"] = c }
        if let b = row.build_commit { environment["llama_build_commit"] = b }
        if let n = row.build_number { environment["llama_build_number"] = n }
        if let b = row.n_batch { environment["n_batch"] = b }
        if let u = row.n_ubatch { environment["n_ubatch"] = u }
        if let f = row.flash_attn { environment["flash_attn"] = f.value }
        if let d = row.device { environment["hostname"] = d }
        var contextObject: [String: Any] = ["environment": environment, "source": path]
        if let url = row.source { contextObject["source_url"] = url }
        let context = (try? JSONSerialization.data(withJSONObject: contextObject, options: [.sortedKeys]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return StoredRun(sweepId: "import", key: "\(name)|\(type)|t\(row.n_threads)|p\(row.n_prompt)|g\(row.n_gen)", kind: .run, seq: 0,
                         status: .ok, reason: nil, config: config, avgTs: row.avg_ts, stddevTs: row.stddev_ts, samplesTs: row.samples_ts ?? [],
                         ppAvgTs: generation ? nil : row.avg_ts, tgAvgTs: generation ? row.avg_ts : nil, peakRssBytes: nil, predictedBytes: nil,
                         flags: [], finishedAt: "", record: "{}", context: context)
    }

    /// llama-bench's CSV: a header line, then one quoted line per test.
    static func csvRows(_ text: String, path: String, lineNumbers: [Int]? = nil) throws(ImportError) -> [(LlamaBenchRow, String)] {
        let textLines = Self.lines(text)
        guard let headerLine = textLines.first, !headerLine.isEmpty else { throw ImportError(description: "\(path): empty file") }
        let header = try fields(headerLine, path: path, line: 1)
        guard header.contains("avg_ts") else {
            throw ImportError(description: "\(path):1: not llama-bench output (JSON, JSONL or CSV with an avg_ts column)")
        }
        var rows: [(LlamaBenchRow, String)] = []
        for (index, line) in textLines.enumerated().dropFirst() where !line.isEmpty {
            let i = (lineNumbers?[index]).map { $0 - 1 } ?? index
            let values = try fields(line, path: path, line: i + 1)
            guard values.count == header.count else {
                throw ImportError(description: "\(path):\(i + 1): \(values.count) fields, the header has \(header.count)")
            }
            let object = Dictionary(zip(header, values), uniquingKeysWith: { a, _ in a })
            func text(_ k: String) -> String? { object[k].flatMap { $0.isEmpty ? nil : $0 } }
            func int(_ k: String) throws(ImportError) -> Int? {
                guard let v = text(k) else { return nil }
                guard let n = Int(v) else { throw ImportError(description: "\(path):\(i + 1): \(k) '\(v)' is not an integer") }
                return n
            }
            func flag(_ k: String) throws(ImportError) -> FlashAttention? {
                guard let v = text(k) else { return nil }
                guard let f = FlashAttention(text: v) else {
                    throw ImportError(description: "\(path):\(i + 1): \(k) '\(v)' is not -1 (auto), 0, 1, true or false")
                }
                return f
            }
            func require<T>(_ k: String, _ v: T?) throws(ImportError) -> T {
                guard let v else { throw ImportError(description: "\(path):\(i + 1): \(k) missing") }
                return v
            }
            guard let ts = text("avg_ts").flatMap(Double.init) else {
                throw ImportError(description: "\(path):\(i + 1): avg_ts '\(object["avg_ts"] ?? "")' is not a number")
            }
            let row = LlamaBenchRow(
                model_filename: text("model_filename"), model: text("model"), device: text("device"), source: text("source"), model_type: try require("model_type", text("model_type")),
                model_size: try int("model_size"), model_n_params: try int("model_n_params"),
                n_threads: try require("n_threads", try int("n_threads")), n_prompt: try require("n_prompt", try int("n_prompt")),
                n_gen: try require("n_gen", try int("n_gen")), n_depth: try int("n_depth"), n_batch: try int("n_batch"),
                n_ubatch: try int("n_ubatch"), flash_attn: try flag("flash_attn"), type_k: text("type_k"), avg_ts: ts,
                stddev_ts: text("stddev_ts").flatMap(Double.init), samples_ts: nil, build_commit: text("build_commit"),
                build_number: try int("build_number"), cpu_info: text("cpu_info"))
            rows.append((row, "line \(i + 1)"))
        }
        return rows
    }

    /// The lines of a text with LF or CRLF ends. (Swift reads "\r\n" as one Character, so a split
    /// on "\n" alone would leave a CRLF file in one piece.)
    static func lines(_ text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
            .map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
    }

    /// llama-bench's `-o sql`: a CREATE TABLE, then one `INSERT INTO test (col, …) VALUES (…);` per
    /// test, text in single quotes. Read by turning each INSERT into a CSV row of its columns.
    static func sqlRows(_ text: String, path: String) throws(ImportError) -> [(LlamaBenchRow, String)] {
        var header: [String]?
        var csv: [String] = []
        var numbers: [Int] = []
        for (i, line) in lines(text).enumerated() {
            let l = line.trimmingCharacters(in: .whitespaces)
            guard l.hasPrefix("INSERT INTO") else { continue }
            guard let open = l.firstIndex(of: "("), let close = l[open...].firstIndex(of: ")"),
                  let values = l.range(of: "VALUES ("), l.hasSuffix(");") else {
                throw ImportError(description: "\(path):\(i + 1): not an INSERT INTO test (…) VALUES (…); line")
            }
            let columns = l[l.index(after: open)..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if header == nil { header = columns } else if header! != columns {
                throw ImportError(description: "\(path):\(i + 1): the columns differ from the first INSERT's")
            }
            // SQL text literals ('…' with '' for a quote) become CSV fields ("…" with "" for a quote).
            var row = "", quoted = false
            let body = l[values.upperBound..<l.index(l.endIndex, offsetBy: -2)]
            var k = body.startIndex
            while k < body.endIndex {
                let ch = body[k]
                if quoted {
                    if ch == "'" {
                        let next = body.index(after: k)
                        if next < body.endIndex && body[next] == "'" { row += "'"; k = next } else { quoted = false; row += "\"" }
                    } else if ch == "\"" { row += "\"\"" } else { row.append(ch) }
                } else if ch == "'" { quoted = true; row += "\"" } else if ch != " " { row.append(ch) }
                k = body.index(after: k)
            }
            if quoted { throw ImportError(description: "\(path):\(i + 1): unterminated text value") }
            csv.append(row)
            numbers.append(i + 1)
        }
        guard let header else { throw ImportError(description: "\(path): no INSERT INTO lines (llama-bench -o sql output expected)") }
        // Parse as CSV, then put the SQL file's line numbers back into the positions and errors.
        let parsed = try csvRows(([header.joined(separator: ",")] + csv).joined(separator: "\n"), path: path, lineNumbers: [1] + numbers)
        return parsed
    }

    /// One CSV line's fields: comma-separated, optionally double-quoted with "" for a quote.
    static func fields<S: StringProtocol>(_ line: S, path: String, line number: Int) throws(ImportError) -> [String] {
        var out: [String] = [], field = "", quoted = false, i = line.startIndex
        var column = 1
        while i < line.endIndex {
            let ch = line[i]
            if quoted {
                if ch == "\"" {
                    let next = line.index(after: i)
                    if next < line.endIndex && line[next] == "\"" { field.append("\""); i = next } else { quoted = false }
                } else { field.append(ch) }
            } else if ch == "\"" && field.isEmpty {
                quoted = true
            } else if ch == "," {
                out.append(field); field = ""
            } else { field.append(ch) }
            i = line.index(after: i); column += 1
        }
        if quoted { throw ImportError(description: "\(path):\(number):\(column): unterminated quoted field") }
        out.append(field)
        return out
    }
}
