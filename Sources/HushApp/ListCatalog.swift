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
