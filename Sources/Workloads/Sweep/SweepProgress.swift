import Foundation
import Measures
import ResultStore
import Worker

/// Progress of a sweep on stderr: a redrawn bar (completed/total, current configuration,
/// elapsed, ETA) on a terminal; one plain line per finished run otherwise.
public final class SweepProgress: @unchecked Sendable {
    let terminal: Bool
    let quiet: Bool
    private let lock = NSLock()
    private var total = 0
    private var completed = 0
    private var runnableLeft = 0
    private var started = Date()
    private var executedSeconds = 0.0
    private var executed = 0
    private var current = ""
    private var currentStart = Date()
    private var stageText = ""

    public init(terminal: Bool = isatty(2) == 1, quiet: Bool = false) {
        self.terminal = terminal
        self.quiet = quiet
    }

    func start(total: Int, done: Int, runnable: Int) {
        lock.withLock {
            self.total = total; completed = done; runnableLeft = runnable; started = Date()
        }
        if done > 0 { line("resuming: \(done) of \(total) already stored, \(total - done) to go") }
        else { line("sweep: \(total) entries, \(runnable) to execute") }
    }

    func begin(_ entry: PlannedRun) {
        lock.withLock {
            current = Self.describe(entry)
            currentStart = Date()
            stageText = entry.skip == nil ? "" : "skip"
        }
        draw()
    }

    func stage(_ stage: String, _ fraction: Double?) {
        lock.withLock { stageText = stage + (fraction.map { String(format: " %.0f%%", $0 * 100) } ?? "") }
        draw()
    }

    /// A message from model preparation (quantizing, generating).
    func note(_ text: String) {
        lock.withLock { stageText = text }
        draw()
    }

    func finish(_ entry: PlannedRun, _ result: StoredRun) {
        let seconds = Date().timeIntervalSince(lock.withLock { currentStart })
        lock.withLock {
            completed += 1
            if entry.skip == nil { executed += 1; executedSeconds += seconds; runnableLeft -= 1 }
        }
        let outcome: String
        if result.status == .ok {
            if entry.kind == .quality { outcome = "ok" }
            else { outcome = result.avgTs.map { String(format: "%.1f t/s", $0) } ?? "ok" }
        } else { outcome = "\(result.status): \(result.reason ?? "")" }
        let flags = result.flags.isEmpty ? "" : " [\(result.flags.joined(separator: ","))]"
        let (done, total) = lock.withLock { (completed, self.total) }
        if terminal { clear() }
        if !quiet { FileHandle.standardError.write(Data("[\(done)/\(total)] \(Self.describe(entry)) → \(outcome)\(flags) (\(Self.duration(seconds)))\n".utf8)) }
    }

    func end() {
        if terminal { clear() }
        let elapsed = Date().timeIntervalSince(lock.withLock { started })
        line("sweep: finished in \(Self.duration(elapsed))")
    }

    private func draw() {
        guard terminal, !quiet else { return }
        let (done, total, current, stage, elapsed, eta) = lock.withLock { () -> (Int, Int, String, String, Double, Double?) in
            let average = executed > 0 ? executedSeconds / Double(executed) : nil
            return (completed, self.total, self.current, stageText, Date().timeIntervalSince(started), average.map { $0 * Double(runnableLeft) })
        }
        let width = 24
        let filled = total > 0 ? width * done / total : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        var text = "\r\u{1B}[2K[\(bar)] \(done)/\(total) · \(current)\(stage.isEmpty ? "" : " · \(stage)") · \(Self.duration(elapsed))"
        text += eta.map { " · ETA \(Self.duration($0))" } ?? ""
        FileHandle.standardError.write(Data(text.utf8))
    }

    private func clear() { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }

    private func line(_ text: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func describe(_ e: PlannedRun) -> String {
        let p = e.point
        switch e.kind {
        case .quality: return "quality \(p.model) (\(p.type))"
        case .reference: return "reference \(p.backend) \(p.model) \(p.type) t\(p.threads) b\(p.batch)"
        case .run, .prediction:
            var text = "\(p.backend) \(p.model) \(p.type) t\(p.threads) b\(p.batch) p\(p.prompt) g\(p.gen)"
            if p.kv != "f16" { text += " kv \(p.kv)" }
            if p.placement != "none" { text += " @\(p.placement)" }
            if p.depth > 0 { text += " d\(p.depth)" }
            return text
        }
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        if t >= 3600 { return "\(t / 3600)h\(String(format: "%02d", t % 3600 / 60))m" }
        if t >= 60 { return "\(t / 60)m\(String(format: "%02d", t % 60))s" }
        return String(format: "%.1fs", s)
    }
}
