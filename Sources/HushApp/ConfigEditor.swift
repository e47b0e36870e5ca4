/// Changes one setting in a config file's text and leaves every other line, comment included, as it was:
/// `hush lists add` and `remove` edit the user's own file.
public enum ConfigEditor {
    /// `text` with `section.key` set to the strings `values`: where the key is, its lines are replaced; else
    /// it goes at the top of its section, or into a new section at the end. The result is checked by
    /// reading it as a config.
    public static func setting(_ text: String, path: String, section: String, key: String, to values: [String]) throws(ConfigError) -> String {
        let file = try ConfigFile(text: text, path: path)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let rendered = values.isEmpty ? ["\(key) = []"] : ["\(key) = ["] + values.map { "  \"\($0)\"," } + ["]"]
        if let entry = file.entries["\(section).\(key)"] {
            var end = entry.line - 1
            var raw = ConfigFile.stripComment(lines[end])
            if raw.contains("[") {
                while !ConfigFile.arrayIsClosed(String(raw[raw.firstIndex(of: "[")!...])), end + 1 < lines.count {
                    end += 1
                    raw += " " + ConfigFile.stripComment(lines[end])
                }
            }
            lines.replaceSubrange((entry.line - 1)...end, with: rendered)
        } else if let header = lines.firstIndex(where: { ConfigFile.stripComment($0).trimmed == "[\(section)]" }) {
            lines.insert(contentsOf: rendered, at: header + 1)
        } else {
            if lines.last?.isEmpty == true { lines.removeLast() }
            lines += ["", "[\(section)]"] + rendered + [""]
        }
        let result = lines.joined(separator: "\n")
        _ = try HushConfig.parse(text: result, path: path)
        return result
    }
}
