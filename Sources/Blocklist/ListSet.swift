/// The lists in force: one immutable value, swapped whole on reload.
public struct ListSet: Sendable {
    public let lists: [ListInfo]
    public let block: DomainSet
    public let allow: DomainSet

    public init(lists: [ListInfo] = [], block: DomainSet = DomainSet(), allow: DomainSet = DomainSet()) {
        self.lists = lists
        self.block = block
        self.allow = allow
    }

    public static let empty = ListSet()

    /// Blocked unless an allow rule covers the name. Most names are in no list, so the allowlist is only
    /// consulted for names a block rule covers.
    public func verdict(for name: UnsafeBufferPointer<UInt8>) -> Verdict {
        guard let blockEntry = block.entry(matching: name) else { return .unlisted }
        let blocked = match(blockEntry, in: block)
        if let allowEntry = allow.entry(matching: name) { return .allowed(match(allowEntry, in: allow), overriding: blocked) }
        return .blocked(blocked)
    }

    public func verdict(for name: [UInt8]) -> Verdict {
        name.withUnsafeBufferPointer { verdict(for: $0) }
    }

    /// For `hush check`: also reports an allow rule that covers a name no block rule covers.
    public func explain(_ name: String) -> Verdict {
        let bytes = Array(name.lowercased().utf8)
        let verdict = verdict(for: bytes)
        if case .unlisted = verdict, let allowEntry = bytes.withUnsafeBufferPointer({ allow.entry(matching: $0) }) {
            return .allowed(match(allowEntry, in: allow), overriding: nil)
        }
        return verdict
    }

    private func match(_ entry: DomainSet.Entry, in set: DomainSet) -> ListMatch {
        let listIndex = set.listIndex(of: entry)
        return ListMatch(list: lists.indices.contains(listIndex) ? lists[listIndex] : ListInfo(source: "?"),
                         ruleText: set.ruleText(of: entry))
    }
}

public enum Verdict: Sendable, Equatable {
    case blocked(ListMatch)
    case allowed(ListMatch, overriding: ListMatch?)
    case unlisted
}

/// Which list and which rule matched.
public struct ListMatch: Sendable, Equatable {
    public var list: ListInfo
    public var ruleText: RuleText
    public var rule: String {
        get { ruleText.description }
        set { ruleText = RuleText(newValue) }
    }

    public init(list: ListInfo, rule: String) {
        self.init(list: list, ruleText: RuleText(rule))
    }

    public init(list: ListInfo, ruleText: RuleText) {
        self.list = list
        self.ruleText = ruleText
    }

    /// "Xiaomi telemetry (xiaomi.txt: tracking.miui.com)"
    public var summary: String { "\(list.name) (\(list.label): \(rule))" }
}
