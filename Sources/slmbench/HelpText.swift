/// Discussion text as written in source (hard-wrapped at ~110 columns) reflowed for
/// ArgumentParser, which keeps every newline and wraps again at the terminal's width: without
/// this, `--help` shows a short line after every long one. Blank lines stay paragraph breaks; a
/// line that starts an option (`--x …`) or a list item (`- `) starts its own line.
func reflow(_ text: String) -> String {
    text.components(separatedBy: "\n\n").map { paragraph in
        var lines: [String] = []
        for raw in paragraph.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if let last = lines.last, !line.hasPrefix("--"), !line.hasPrefix("- "), !line.isEmpty {
                lines[lines.count - 1] = last + " " + line
            } else {
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }.joined(separator: "\n\n")
}
