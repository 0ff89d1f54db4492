import Foundation
import ResultStore

/// Results produced elsewhere — llama-bench's JSON, JSONL or CSV output — read as stored runs of the
/// llama.cpp backend, so predictions can be validated against them. The input is untrusted: every
/// mistake names the file and the position (line, or row and field).
public enum ImportedResults {
    public struct ImportError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The fields slmbench reads from one llama-bench test. llama-bench reports either a prompt
    /// test (n_gen 0) or a generation test (n_prompt 0) per row; `avg_ts` is that test's t/s.
    struct LlamaBenchRow: Decodable {
        var model_filename: String?
        var model_type: String
        var model_size: Int?
        var model_n_params: Int?
        var n_threads: Int
        var n_prompt: Int
        var n_gen: Int
        var n_depth: Int?
        var type_k: String?
        var avg_ts: Double
        var stddev_ts: Double?
        var samples_ts: [Double]?
        var build_commit: String?
        var build_number: Int?
        var cpu_info: String?
    }

    public static func read(_ url: URL) throws(ImportError) -> [StoredRun] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw ImportError(description: "\(url.path): cannot read: \(error.localizedDescription)") }
        return try read(data: data, path: url.path)
    }

    /// The runs in llama-bench output held in memory; `path` names it in errors.
    public static func read(data: Data, path: String) throws(ImportError) -> [StoredRun] {
        guard let text = String(data: data, encoding: .utf8) else { throw ImportError(description: "\(path): not UTF-8 text") }
        let trimmed = text.drop { $0.isWhitespace }
        var rows: [(LlamaBenchRow, String)] = []
        if trimmed.first == "[" {
            do { rows = try JSONDecoder().decode([LlamaBenchRow].self, from: data).enumerated().map { ($1, "row \($0 + 1)") } } catch {
                throw ImportError(description: "\(path): \(describe(error, rows: "row"))")
            }
        } else if trimmed.first == "{" {
            for (i, line) in lines(text).enumerated() where !line.allSatisfy(\.isWhitespace) {
                do { rows.append((try JSONDecoder().decode(LlamaBenchRow.self, from: Data(line.utf8)), "line \(i + 1)")) } catch {
                    throw ImportError(description: "\(path):\(i + 1): \(describe(error, rows: nil))")
                }
            }
        } else {
            rows = try csvRows(text, path: path)
        }
        guard !rows.isEmpty else { throw ImportError(description: "\(path): no results in the file") }
        return try rows.map { row, position throws(ImportError) in try storedRun(row, position: position, path: path) }
    }

    /// The lines of `text`, LF or CRLF. Swift reads "\r\n" as one Character, so splitting on
    /// "\n" alone would leave a CRLF file one line long.
    static func lines(_ text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
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
        guard let type = row.model_type.split(separator: " ").last.map({ $0.lowercased() }), !type.isEmpty else {
            throw fail("model_type '\(row.model_type)' names no tensor type")
        }
        let name = row.model_filename.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent } ?? row.model_type
        let config = RunConfig(model: name, modelType: type, backend: "llama.cpp", nThreads: row.n_threads, nSeq: 1, nPrompt: row.n_prompt,
                               nGen: row.n_gen, nDepth: row.n_depth ?? 0, kvType: row.type_k ?? "f16", placement: "none", cpus: [],
                               modelSize: row.model_size, modelNParams: row.model_n_params, synthetic: false)
        let generation = row.n_gen > 0
        var environment: [String: Any] = [:]
        if let c = row.cpu_info { environment["cpu_info"] = c }
        if let b = row.build_commit { environment["llama_build_commit"] = b }
        if let n = row.build_number { environment["llama_build_number"] = n }
        let context = (try? JSONSerialization.data(withJSONObject: ["environment": environment, "source": path], options: [.sortedKeys]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return StoredRun(sweepId: "import", key: "\(name)|\(type)|t\(row.n_threads)|p\(row.n_prompt)|g\(row.n_gen)", kind: "run", seq: 0,
                         status: "ok", reason: nil, config: config, avgTs: row.avg_ts, stddevTs: row.stddev_ts, samplesTs: row.samples_ts ?? [],
                         ppAvgTs: generation ? nil : row.avg_ts, tgAvgTs: generation ? row.avg_ts : nil, peakRssBytes: nil, predictedBytes: nil,
                         flags: [], finishedAt: "", record: "{}", context: context)
    }

    /// llama-bench's CSV: a header line, then one quoted line per test.
    static func csvRows(_ text: String, path: String) throws(ImportError) -> [(LlamaBenchRow, String)] {
        let lines = Self.lines(text).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        guard let headerLine = lines.first, !headerLine.isEmpty else { throw ImportError(description: "\(path): empty file") }
        let header = try fields(headerLine, path: path, line: 1)
        guard header.contains("avg_ts") else {
            throw ImportError(description: "\(path):1: not llama-bench output (JSON, JSONL or CSV with an avg_ts column)")
        }
        var rows: [(LlamaBenchRow, String)] = []
        for (i, line) in lines.enumerated().dropFirst() where !line.isEmpty {
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
            func require<T>(_ k: String, _ v: T?) throws(ImportError) -> T {
                guard let v else { throw ImportError(description: "\(path):\(i + 1): \(k) missing") }
                return v
            }
            guard let ts = text("avg_ts").flatMap(Double.init) else {
                throw ImportError(description: "\(path):\(i + 1): avg_ts '\(object["avg_ts"] ?? "")' is not a number")
            }
            let row = LlamaBenchRow(
                model_filename: text("model_filename"), model_type: try require("model_type", text("model_type")),
                model_size: try int("model_size"), model_n_params: try int("model_n_params"),
                n_threads: try require("n_threads", try int("n_threads")), n_prompt: try require("n_prompt", try int("n_prompt")),
                n_gen: try require("n_gen", try int("n_gen")), n_depth: try int("n_depth"), type_k: text("type_k"), avg_ts: ts,
                stddev_ts: text("stddev_ts").flatMap(Double.init), samples_ts: nil, build_commit: text("build_commit"),
                build_number: try int("build_number"), cpu_info: text("cpu_info"))
            rows.append((row, "line \(i + 1)"))
        }
        return rows
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
