/// What a list is, read from its header (`# Name:`, `# Category:`, `# Vendor:` …) or given by the config.
/// Immutable, its text held in one shared box: every blocked answer and stats record carries a copy, and
/// one reference count to bump is cheaper than five strings' (copying them costs a tenth of the stats writer's time).
public struct ListInfo: Sendable, Equatable {
    public enum Purpose: String, Sendable { case block, allow }

    private final class Storage: Sendable {
        let source: String
        let label: String
        let name: String
        let category: String
        let vendor: String
        let purpose: Purpose

        init(source: String, label: String, name: String, category: String, vendor: String, purpose: Purpose) {
            self.source = source
            self.label = label
            self.name = name
            self.category = category
            self.vendor = vendor
            self.purpose = purpose
        }
    }

    private let storage: Storage

    /// Where it came from: a path, or a subscription's URL.
    public var source: String { storage.source }
    /// Short label shown in answers and stats: the file name.
    public var label: String { storage.label }
    public var name: String { storage.name }
    public var category: String { storage.category }
    public var vendor: String { storage.vendor }
    public var purpose: Purpose { storage.purpose }

    public init(source: String, label: String? = nil, name: String? = nil, category: String = "custom",
                vendor: String = "", purpose: Purpose = .block) {
        let label = label ?? String(source.split(separator: "/").last ?? Substring(source))
        storage = Storage(source: source, label: label, name: name ?? label, category: category, vendor: vendor, purpose: purpose)
    }

    /// The same loaded list, not merely an equal one: a pointer comparison for the answering path.
    public func isIdentical(to other: ListInfo) -> Bool { storage === other.storage }

    public static func == (a: ListInfo, b: ListInfo) -> Bool {
        a.storage === b.storage || (a.source == b.source && a.label == b.label && a.name == b.name
            && a.category == b.category && a.vendor == b.vendor && a.purpose == b.purpose)
    }
}

/// A line a parser could not use. Loading goes on without it.
public struct ListProblem: Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var line: Int
    public var message: String
    public var description: String { "\(source):\(line): \(message)" }
}
