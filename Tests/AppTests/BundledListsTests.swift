import Blocklist
import Foundation
import HushApp
import Testing
import TestSupport

/// The lists Hush ships, loaded as a user gets them: every documented telemetry host blocked, every name a
/// device needs left alone, every file with its sources and review date, every pattern cheap.
@Suite struct BundledListsTests {
    static let directory = Repository.blocklists
    static let fixtures = Repository.root.appendingPathComponent("Tests/BlocklistTests/Fixtures")

    static func load(optional: [String] = []) -> (ListSet, LoadReport) {
        var config = HushConfig()
        config.bundledListsDirectory = directory
        config.bundledOptional = optional
        return ListLoader.load(BundledLists.sources(for: config))
    }

    /// Names from a fixture file: the first word of each line that is not a comment.
    static func names(_ file: String) throws -> [String] {
        try String(contentsOf: fixtures.appendingPathComponent(file), encoding: .utf8).split(separator: "\n")
            .compactMap { $0.hasPrefix("#") ? nil : $0.split(separator: " ").first.map(String.init) }
    }

    @Test func everyListLoadsCleanlyWithItsSourcesAndReviewDate() throws {
        let (_, report) = Self.load()
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.unreadable.isEmpty)
        #expect(report.entries.count >= 20)
        for file in try FileManager.default.contentsOfDirectory(atPath: Self.directory) where file.hasSuffix(".txt") {
            let text = try String(contentsOfFile: Self.directory + "/" + file, encoding: .utf8)
            for key in ["Name", "Category", "Vendor", "Sources", "Reviewed", "Description"] {
                #expect(text.contains("# \(key): "), "\(file) names its \(key)")
            }
        }
    }

    static func isBlocked(_ lists: ListSet, _ name: String) -> Bool {
        if case .blocked = lists.explain(name) { true } else { false }
    }

    @Test func documentedTelemetryIsBlockedByTheBundledListsAlone() throws {
        let (lists, _) = Self.load()
        let documented = try Self.names("documented-telemetry.txt")
        let seeds = ["sa.api.intl.miui.com", "data.mistat.intl.xiaomi.com", "tracking.rus.miui.com", "log16-normal-useast1a.tiktokv.com"]
        #expect(documented.count >= 300)
        let missed = (documented + seeds).filter { !Self.isBlocked(lists, $0) }
        #expect(missed.isEmpty, "not blocked: \(missed)")
    }

    @Test func namesDevicesNeedAreNotBlocked() throws {
        let (lists, _) = Self.load()
        let needed = try Self.names("must-keep-working.txt")
        #expect(needed.count >= 200)
        let broken = needed.filter { Self.isBlocked(lists, $0) }
        #expect(broken.isEmpty, "blocked: \(broken)")
    }

    @Test func everyBundledPatternIsAnchoredToADomain() {
        let (lists, _) = Self.load()
        #expect(lists.blockPatterns.count >= 20)
        for pattern in lists.blockPatterns.patterns {
            #expect(!pattern.anchors.isEmpty, "\(pattern.text) would be tried for every name")
            for anchor in pattern.anchors {
                #expect(anchor.contains(UInt8(ascii: ".")), "\(pattern.text): the anchor is a whole registrable domain")
            }
        }
    }

    @Test func optionalListsAreOffUntilNamed() {
        let (off, report) = Self.load()
        #expect(!report.entries.contains { $0.info.label == "doh-resolvers.txt" })
        if case .blocked = off.explain("dns.google") { Issue.record("the resolver list is off by default") }
        let (on, _) = Self.load(optional: ["doh-resolvers"])
        if case .blocked = on.explain("dns.google") {} else { Issue.record("named in bundled-optional, it loads") }
        #expect(BundledLists.optionalLists(in: Self.directory) == ["doh-resolvers"])
    }

    @Test func theCatalogueIsComplete() throws {
        let catalog = try ListCatalog.load(directory: Self.directory)
        #expect(catalog.entries.count >= 20)
        #expect(Set(catalog.entries.map(\.url)).count == catalog.entries.count, "one entry per URL")
        for name in ["hagezi-native-xiaomi", "hagezi-native-tiktok", "perflyst-smarttv"] {
            #expect(catalog.entry(named: name) != nil, "\(name)")
        }
        for entry in catalog.entries {
            #expect((try? Subscription(spec: entry.subscriptionSpec)) != nil, "\(entry.name) makes a valid subscription")
        }
    }
}
