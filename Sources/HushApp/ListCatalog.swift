import Foundation

/// The known-good subscriptions `hush lists catalog` shows and `hush lists add NAME` subscribes to, read from
/// `catalog.toml` beside the bundled lists: one `[name]` section per list with its title, URL, vendor,
/// category, licence, rough size and what it is known to break.
public struct ListCatalog: Sendable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var title: String
        public var url: String
        public var vendor: String
        public var category: String
        public var licence: String
        public var size: String
        public var breaks: String

        /// The subscription this entry makes: the URL with how matches are reported.
        public var subscriptionSpec: String {
            "\(url) vendor=\(vendor.replacingOccurrences(of: " ", with: "_")) category=\(category) name=\(title.replacingOccurrences(of: " ", with: "_"))"
        }
    }

    public static let fields = ["title", "url", "vendor", "category", "licence", "size", "breaks"]

    public var entries: [Entry]

    public init(text: String, path: String) throws(ConfigError) {
        let file = try ConfigFile(text: text, path: path)
        var sections: [String: Int] = [:]
        for (key, entry) in file.entries {
            guard let dot = key.firstIndex(of: ".") else {
                throw ConfigError(path: path, line: entry.line, key: key, message: "every entry sits in a [name] section")
            }
            let section = String(key[..<dot])
            sections[section] = min(sections[section] ?? .max, entry.line)
        }
        var entries: [Entry] = []
        for (section, line) in sections.sorted(by: { $0.value < $1.value }) {
            var values: [String: String] = [:]
            for field in Self.fields {
                guard case .string(let value)? = file.entries["\(section).\(field)"]?.value, !value.isEmpty else {
                    throw ConfigError(path: path, line: line, key: "\(section).\(field)", message: "missing (every entry has \(Self.fields.joined(separator: ", ")))")
                }
                values[field] = value
            }
            guard let url = URL(string: values["url"]!), ["http", "https"].contains(url.scheme ?? "") else {
                throw ConfigError(path: path, line: line, key: "\(section).url", message: "not an http(s) URL")
            }
            entries.append(Entry(name: section, title: values["title"]!, url: values["url"]!, vendor: values["vendor"]!,
                                 category: values["category"]!, licence: values["licence"]!, size: values["size"]!, breaks: values["breaks"]!))
        }
        self.entries = entries
    }

    public static func load(directory: String) throws(ConfigError) -> ListCatalog {
        let path = directory + "/catalog.toml"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(path: path, line: nil, key: nil, message: "cannot read the catalogue")
        }
        return try ListCatalog(text: String(decoding: data, as: UTF8.self), path: path)
    }

    public func entry(named name: String) -> Entry? {
        entries.first { $0.name == name.lowercased() }
    }
}

/// The running server, found through the PID file it writes in the state directory, so a command that
/// changed the lists can have it reload them.
public enum RunningServer {
    public static func pidFile(stateDirectory: String) -> String { stateDirectory + "/hush.pid" }

    public static func record(stateDirectory: String) {
        try? FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        try? "\(getpid())\n".write(toFile: pidFile(stateDirectory: stateDirectory), atomically: true, encoding: .utf8)
    }

    public static func forget(stateDirectory: String) {
        let path = pidFile(stateDirectory: stateDirectory)
        if (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == "\(getpid())" {
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// Sends SIGHUP to the Hush serving from `stateDirectory`; says what happened.
    public static func reload(stateDirectory: String) -> String {
        guard let text = try? String(contentsOfFile: pidFile(stateDirectory: stateDirectory), encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
              let command = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
              command.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("hush") else {
            return "no running Hush found for \(stateDirectory): the lists load when it starts (or run systemctl reload hush)"
        }
        return kill(pid, SIGHUP) == 0 ? "reloaded the running Hush (pid \(pid))" : "could not signal Hush (pid \(pid)): \(String(cString: strerror(errno)))"
    }
}
