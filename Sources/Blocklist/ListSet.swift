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
        guard let blockRule = block.match(name) else { return .unlisted }
        if let allowRule = allow.match(name) { return .allowed(match(allowRule), overriding: match(blockRule)) }
        return .blocked(match(blockRule))
    }

    public func verdict(for name: [UInt8]) -> Verdict {
        name.withUnsafeBufferPointer { verdict(for: $0) }
    }

    /// For `hush check`: also reports an allow rule that covers a name no block rule covers.
    public func explain(_ name: String) -> Verdict {
        let bytes = Array(name.lowercased().utf8)
        let verdict = verdict(for: bytes)
        if case .unlisted = verdict, let allowRule = allow.match(bytes) {
            return .allowed(match(allowRule), overriding: nil)
        }
        return verdict
    }

    private func match(_ rule: DomainRule) -> ListMatch {
        ListMatch(list: lists.indices.contains(rule.listIndex) ? lists[rule.listIndex] : ListInfo(source: "?"),
                  rule: rule.text)
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
    public var rule: String

    public init(list: ListInfo, rule: String) {
        self.list = list
        self.rule = rule
    }

    /// "Xiaomi telemetry (xiaomi.txt: tracking.miui.com)"
    public var summary: String { "\(list.name) (\(list.label): \(rule))" }
}
