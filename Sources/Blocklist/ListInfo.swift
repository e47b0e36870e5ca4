/// What a list is, read from its header (`# Name:`, `# Category:`, `# Vendor:` …) or given by the config.
public struct ListInfo: Sendable, Equatable {
    public enum Purpose: String, Sendable { case block, allow }

    /// Where it came from: a path, or a subscription's URL.
    public var source: String
    /// Short label shown in answers and stats: the file name.
    public var label: String
    public var name: String
    public var category: String
    public var vendor: String
    public var purpose: Purpose

    public init(source: String, label: String? = nil, name: String? = nil, category: String = "custom",
                vendor: String = "", purpose: Purpose = .block) {
        self.source = source
        self.label = label ?? String(source.split(separator: "/").last ?? Substring(source))
        self.name = name ?? self.label
        self.category = category
        self.vendor = vendor
        self.purpose = purpose
    }
}

/// A line a parser could not use. Loading goes on without it.
public struct ListProblem: Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var line: Int
    public var message: String
    public var description: String { "\(source):\(line): \(message)" }
}
