import Foundation

/// A list to load: a file, what it is for, and what the config says about it (which wins over its header).
public struct ListSource: Sendable, Equatable {
    public var path: String
    public var purpose: ListInfo.Purpose
    public var name: String?
    public var category: String?
    public var vendor: String?
    /// The URL a subscription was fetched from, shown instead of the cached file's path.
    public var origin: String?

    public init(path: String, purpose: ListInfo.Purpose, name: String? = nil, category: String? = nil,
                vendor: String? = nil, origin: String? = nil) {
        self.path = path
        self.purpose = purpose
        self.name = name
        self.category = category
        self.vendor = vendor
        self.origin = origin
    }
}

/// What loading found: per list the rule counts, and every problem with its file and line.
public struct LoadReport: Sendable {
    public struct Entry: Sendable {
        public var info: ListInfo
        public var blockRules: Int
        public var allowRules: Int
        /// Of the rules, how many are wildcards or regular expressions.
        public var patterns: Int
    }
    public var entries: [Entry] = []
    public var problems: [ListProblem] = []
    public var moreProblems = 0
    /// Lists that could not be read at all.
    public var unreadable: [String] = []
    public var seconds: Double = 0
}

public enum ListLoader {
    public static func load(_ sources: [ListSource]) -> (ListSet, LoadReport) {
        let started = Date()
        var report = LoadReport()
        var rules = RuleSets()
        var infos: [ListInfo] = []
        for source in sources {
            guard let data = FileManager.default.contents(atPath: source.path) else {
                report.unreadable.append(source.path)
                continue
            }
            let index = infos.count
            let text = [UInt8](data)
            // A line holds at most one rule in all but hosts lines naming several hosts: room for that many
            // up front saves rehashing a million-name table at every doubling.
            let lines = text.withUnsafeBufferPointer { $0.reduce(into: 1) { count, byte in if byte == 10 { count += 1 } } }
            if source.purpose == .allow { rules.allow.reserveCapacity(adding: lines) } else { rules.block.reserveCapacity(adding: lines) }
            let outcome = ListParser.parse(text, source: source.path, listIndex: index, purpose: source.purpose, into: &rules)
            let header = outcome.header
            let info = ListInfo(
                source: source.origin ?? source.path,
                label: String(source.path.split(separator: "/").last ?? Substring(source.path)),
                name: source.name ?? header["name"] ?? header["title"],
                category: source.category ?? header["category"] ?? (source.purpose == .allow ? "allowlist" : "custom"),
                vendor: source.vendor ?? header["vendor"] ?? "",
                purpose: source.purpose)
            infos.append(info)
            report.entries.append(.init(info: info, blockRules: outcome.blockRules, allowRules: outcome.allowRules, patterns: outcome.patterns))
            report.problems += outcome.problems
            report.moreProblems += outcome.moreProblems
        }
        rules.seal()
        report.seconds = Date().timeIntervalSince(started)
        return (ListSet(lists: infos, rules: rules), report)
    }
}
