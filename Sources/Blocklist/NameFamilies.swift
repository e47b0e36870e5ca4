/// Which listed names a name sits next to: the same registrable domain as a listed vendor host, or the same
/// shape with one label different (`data.mistat.kr.xiaomi.com` beside `data.mistat.rus.xiaomi.com`,
/// `log16-normal-…` beside `log31-normal-…`). Built from the block lists of vendor telemetry and analytics,
/// and from the allowlist, whose families are never suggested.
public struct NameFamilies: Sendable {
    /// Registrable domain → the vendor of a listed name under it.
    private var domains: [String: String] = [:]
    /// Shape (one label replaced by `*`, digits by `#`) → vendor.
    private var shapes: [String: String] = [:]
    private var allowedShapes: Set<String> = []
    private var allowedNames: Set<String> = []

    /// Names past this are not indexed: a subscribed list of a million names would cost more memory than
    /// suggestions are worth.
    public static let limit = 200_000

    public init() {}

    public init(_ lists: ListSet) {
        var indexed = 0
        lists.block.forEachName { name, listIndex in
            guard indexed < Self.limit, lists.lists.indices.contains(listIndex) else { return }
            let list = lists.lists[listIndex]
            guard list.category == "vendor-telemetry" || list.category == "third-party-analytics" else { return }
            indexed += 1
            let text = String(decoding: name, as: UTF8.self)
            let vendor = list.vendor.isEmpty ? list.name : list.vendor
            if let domain = Self.registrableDomain(text), domain != text { domains[domain] = domains[domain] ?? vendor }
            for shape in Self.shapes(of: text) { shapes[shape] = shapes[shape] ?? vendor }
        }
        lists.allow.forEachName { name, _ in
            let text = String(decoding: name, as: UTF8.self)
            allowedNames.insert(text)
            for shape in Self.shapes(of: text) { allowedShapes.insert(shape) }
        }
    }

    public struct Relation: Sendable, Equatable {
        public var vendor: String
        /// The name has the shape of a listed one; otherwise it only shares its registrable domain.
        public var sameShape: Bool

        public init(vendor: String, sameShape: Bool) {
            self.vendor = vendor
            self.sameShape = sameShape
        }
    }

    /// How `name` relates to the listed names, if it does.
    public func relation(of name: String) -> Relation? {
        for shape in Self.shapes(of: name) { if let vendor = shapes[shape] { return Relation(vendor: vendor, sameShape: true) } }
        if let domain = Self.registrableDomain(name), let vendor = domains[domain] { return Relation(vendor: vendor, sameShape: false) }
        return nil
    }

    /// Whether `name` is an allowlisted name, below one, or shaped like one: a device needs it.
    public func isProtected(_ name: String) -> Bool {
        var suffix = Substring(name)
        while true {
            if allowedNames.contains(String(suffix)) { return true }
            guard let dot = suffix.firstIndex(of: ".") else { break }
            suffix = suffix[suffix.index(after: dot)...]
        }
        return Self.shapes(of: name).contains { allowedShapes.contains($0) }
    }

    /// Second-level labels under which registrations sit one level deeper (`example.co.uk`, `example.com.cn`).
    static let secondLevels: Set<String> = ["co", "com", "net", "org", "gov", "edu", "ac", "ne", "or", "go"]

    /// The last two labels, or three under a country's `co.`/`com.`-style second level.
    public static func registrableDomain(_ name: String) -> String? {
        let labels = name.split(separator: ".")
        guard labels.count >= 2 else { return nil }
        let take = labels.count >= 3 && labels.last!.count == 2 && secondLevels.contains(String(labels[labels.count - 2])) ? 3 : 2
        return labels.suffix(take).joined(separator: ".")
    }

    /// The name with its digits written `#`, and, when it has two labels or more below its registrable
    /// domain, with each of those replaced by `*` in turn (one own label replaced would be the whole domain).
    static func shapes(of name: String) -> [String] {
        let labels = name.split(separator: ".").map { String($0.map { $0.isNumber ? "#" : $0 }) }
        guard labels.count >= 3, let domain = registrableDomain(name) else { return [] }
        let own = labels.count - domain.split(separator: ".").count
        var shapes = [labels.joined(separator: ".")].filter { $0 != name }
        guard own >= 2 else { return shapes }
        for index in 0..<own {
            var copy = labels
            copy[index] = "*"
            shapes.append(copy.joined(separator: "."))
        }
        return shapes
    }
}
