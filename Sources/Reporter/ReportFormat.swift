/// The forms a sweep's results are written in: `slmbench report --format` and `results list --format`.
public enum ReportFormat: String, CaseIterable, Sendable {
    /// The results table as Markdown.
    case md
    /// One row a run, every configuration field and metric (ResultsExport.csv).
    case csv
    /// One document, the runs with their summaries (ResultsExport.json).
    case json
    /// The self-contained report with charts (`report` only).
    case html
    /// The HTML report printed to PDF through headless Chromium (`report` only).
    case pdf
}
