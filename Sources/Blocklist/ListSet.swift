/// The lists in force: one immutable value, swapped whole on reload.
public struct ListSet: Sendable {
    public let lists: [ListInfo]
    public let block: DomainSet
    public let allow: DomainSet
    public let blockPatterns: PatternSet
    public let allowPatterns: PatternSet

    public init(lists: [ListInfo] = [], rules: RuleSets = RuleSets()) {
        self.lists = lists
        self.block = rules.block
        self.allow = rules.allow
        self.blockPatterns = rules.blockPatterns
        self.allowPatterns = rules.allowPatterns
    }

    public static let empty = ListSet()

    /// Blocked when a name or pattern rule covers the name, unless an allow rule (name or pattern) does.
    /// Most names are in no list, so the allow rules are only consulted for names a block rule covers, and
    /// patterns only where the names found nothing.
    public func verdict(for name: UnsafeBufferPointer<UInt8>) -> Verdict {
        let blocked: ListMatch
        if let blockEntry = block.entry(matching: name) {
            blocked = match(blockEntry, in: block)
        } else if let pattern = blockPatterns.entry(matching: name) {
            blocked = match(pattern)
        } else {
            return .unlisted
        }
        if let allowed = allowMatch(name) { return .allowed(allowed, overriding: blocked) }
        return .blocked(blocked)
    }

    private func allowMatch(_ name: UnsafeBufferPointer<UInt8>) -> ListMatch? {
        if let allowEntry = allow.entry(matching: name) { return match(allowEntry, in: allow) }
        return allowPatterns.entry(matching: name).map(match)
    }

    public func verdict(for name: [UInt8]) -> Verdict {
        name.withUnsafeBufferPointer { verdict(for: $0) }
    }

    /// For `hush check`: also reports an allow rule that covers a name no block rule covers.
    public func explain(_ name: String) -> Verdict {
        let bytes = Array(name.lowercased().utf8)
        let verdict = verdict(for: bytes)
        if case .unlisted = verdict, let allowed = bytes.withUnsafeBufferPointer({ allowMatch($0) }) {
            return .allowed(allowed, overriding: nil)
        }
        return verdict
    }

    private func match(_ entry: PatternSet.Entry) -> ListMatch {
        ListMatch(list: lists.indices.contains(entry.listIndex) ? lists[entry.listIndex] : ListInfo(source: "?"),
                  ruleText: RuleText(entry.pattern.text))
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
    public var rule: String { ruleText.description }

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
