@testable import Blocklist
import Testing

@Suite struct ListParserTests {
    func load(_ text: String, purpose: ListInfo.Purpose = .block) -> (ListSet, ListParser.Outcome) {
        var block = DomainSet()
        var allow = DomainSet()
        let outcome = ListParser.parse(Array(text.utf8), source: "test.txt", listIndex: 0, purpose: purpose, block: &block, allow: &allow)
        return (ListSet(lists: [ListInfo(source: "test.txt", name: "Test", vendor: "Acme")], block: block, allow: allow), outcome)
    }

    func blocked(_ lists: ListSet, _ name: String) -> String? {
        if case .blocked(let match) = lists.verdict(for: Array(name.utf8)) { return match.rule }
        return nil
    }

    @Test func readsEveryFormat() {
        let (lists, outcome) = load("""
            # Name: Test list
            # Vendor: Acme
            0.0.0.0 hosts-zero.test
            127.0.0.1 hosts-loop.test   another.test # two names on one line
            :: hosts-v6.test
            plain.test
            ||adblock.test^
            ||adblock-important.test^$important
            *.wild.test
            UPPER.Case.TEST.
            bücher.test
            ! an adblock comment
            [Adblock Plus 2.0]
            0.0.0.0 localhost
            0.0.0.0 0.0.0.0
            """)
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(outcome.header["name"] == "Test list" && outcome.header["vendor"] == "Acme")
        for name in ["hosts-zero.test", "hosts-loop.test", "another.test", "hosts-v6.test", "plain.test",
                     "adblock.test", "adblock-important.test", "upper.case.test", "xn--bcher-kva.test"] {
            #expect(blocked(lists, name) != nil, "\(name)")
        }
        #expect(blocked(lists, "adblock.test") == "||adblock.test^")
        #expect(blocked(lists, "localhost") == nil, "hosts-file boilerplate is skipped")
        #expect(lists.block.count == 10)
    }

    @Test func aHostsLineWithOneBadNameAddsNoneOfItsNames() {
        let (lists, outcome) = load("0.0.0.0 good-one.test bad_name!.test good-two.test\n0.0.0.0 fine.test\n")
        #expect(outcome.problems.count == 1 && outcome.problems[0].line == 1)
        #expect(blocked(lists, "good-one.test") == nil && blocked(lists, "good-two.test") == nil)
        #expect(blocked(lists, "fine.test") == "fine.test")
        #expect(outcome.blockRules == 1)
    }

    @Test func roomReservedForCommentLinesIsGivenBackWhenSealed() {
        var reserved = DomainSet()
        reserved.reserveCapacity(adding: 400_000)
        var grown = DomainSet()
        for i in 0..<1_000 {
            reserved.insert(Array("n\(i).test".utf8), listIndex: 0, syntax: .plain)
            grown.insert(Array("n\(i).test".utf8), listIndex: 0, syntax: .plain)
        }
        #expect(reserved.memoryFootprint > 2_000_000)
        reserved.seal()
        grown.seal()
        #expect(abs(reserved.memoryFootprint - grown.memoryFootprint) < 64 * 1024, "\(reserved.memoryFootprint) against \(grown.memoryFootprint)")
        #expect(reserved.match("x.n999.test")?.domain == "n999.test" && reserved.match("n1000.test") == nil)
    }

    @Test func aListedNameBlocksItselfAndEverythingBelow() {
        let (lists, _) = load("tracking.miui.com\n*.wild.test\n")
        #expect(blocked(lists, "tracking.miui.com") == "tracking.miui.com")
        #expect(blocked(lists, "a.b.tracking.miui.com") == "tracking.miui.com")
        #expect(blocked(lists, "miui.com") == nil)
        #expect(blocked(lists, "xtracking.miui.com") == nil, "a label boundary, not a string suffix")
        #expect(blocked(lists, "wild.test") == nil, "*.x covers names below x only")
        #expect(blocked(lists, "deep.wild.test") == "*.wild.test")
    }

    @Test func aMatchReportsItsRuleAsWrittenWithoutCopyingIt() {
        let (lists, _) = load("plain.test\n||adblock.test^\n*.below.test\n0.0.0.0 hosts.test\n")
        for (name, rule) in [("a.plain.test", "plain.test"), ("a.adblock.test", "||adblock.test^"),
                             ("a.below.test", "*.below.test"), ("hosts.test", "hosts.test")] {
            guard case .blocked(let match) = lists.verdict(for: Array(name.utf8)) else { Issue.record("\(name) not blocked"); continue }
            #expect(match.rule == rule)
            var bytes: [UInt8] = [7]
            match.ruleText.append(to: &bytes)
            #expect(bytes == [7] + Array(rule.utf8), "appended after what the buffer held")
            #expect(match == ListMatch(list: match.list, rule: rule), "a rule read from the list equals the same text")
        }
    }

    @Test func anAllowRuleWinsForItselfAndBelow() {
        var block = DomainSet()
        var allow = DomainSet()
        _ = ListParser.parse(Array("miui.com\n@@||safe.miui.com^\n".utf8), source: "b", listIndex: 0, purpose: .block, block: &block, allow: &allow)
        _ = ListParser.parse(Array("connect.rom.miui.com\n".utf8), source: "a", listIndex: 1, purpose: .allow, block: &block, allow: &allow)
        let lists = ListSet(lists: [ListInfo(source: "b"), ListInfo(source: "a", purpose: .allow)], block: block, allow: allow)
        #expect(blocked(lists, "tracking.miui.com") == "miui.com")
        guard case .allowed(let allowMatch, let overriding) = lists.verdict(for: Array("x.connect.rom.miui.com".utf8)) else {
            Issue.record("expected allowed"); return
        }
        #expect(allowMatch.rule == "connect.rom.miui.com" && allowMatch.list.label == "a")
        #expect(overriding?.rule == "miui.com")
        if case .allowed = lists.verdict(for: Array("safe.miui.com".utf8)) {} else { Issue.record("@@ rule must allow") }
        if case .allowed = lists.explain("connect.rom.miui.com") {} else { Issue.record("explain reports allow rules") }
    }

    @Test func badLinesAreReportedWithTheirLineAndSkipped() {
        let (lists, outcome) = load("good.test\nnot a domain at all\n||broken.test\nbad_label-.test..\n||x.test^$third-party\n\(String(repeating: "a", count: 64)).test\n192.168.1.1\nalso-good.test\n")
        #expect(outcome.problems.map(\.line) == [2, 3, 4, 5, 6, 7])
        #expect(outcome.problems.allSatisfy { $0.source == "test.txt" })
        #expect(outcome.problems[0].description.hasPrefix("test.txt:2: "))
        #expect(blocked(lists, "good.test") != nil && blocked(lists, "also-good.test") != nil)
        #expect(lists.block.count == 2)
    }

    @Test func duplicatesKeepTheFirstRuleButAWholeNameRuleBeatsNamesBelow() {
        var set = DomainSet()
        let first = set.insert(Array("a.test".utf8), listIndex: 0, syntax: .namesBelow)
        let second = set.insert(Array("a.test".utf8), listIndex: 1, syntax: .plain)
        #expect(first && !second)
        #expect(set.match("a.test")?.listIndex == 1)
        let third = set.insert(Array("a.test".utf8), listIndex: 2, syntax: .plain)
        #expect(!third)
        #expect(set.match("a.test")?.listIndex == 1)
        #expect(set.count == 1)
    }

    @Test func survivesGrowingPastManyEntries() {
        var set = DomainSet()
        for i in 0..<50_000 { set.insert(Array("host\(i).example\(i % 7).test".utf8), listIndex: i % 3, syntax: .plain) }
        #expect(set.count == 50_000)
        for i in stride(from: 0, to: 50_000, by: 997) {
            #expect(set.match("x.host\(i).example\(i % 7).test")?.domain == "host\(i).example\(i % 7).test")
        }
        #expect(set.match("host1.example2.test") == nil)
    }

    @Test func aSealedSetAnswersAlikeWithOrWithoutPrefetching() {
        var set = DomainSet()
        for i in 0..<20_000 {
            set.insert(Array("host\(i).example.test".utf8), listIndex: i % 5, syntax: i % 2 == 0 ? .plain : .adblock)
        }
        set.insert(Array("below.test".utf8), listIndex: 7, syntax: .namesBelow)
        set.seal()
        for i in stride(from: 0, to: 20_000, by: 331) {
            let name = Array("deep.host\(i).example.test".utf8)
            name.withUnsafeBufferPointer { bytes in
                set.prefetch(bytes, .filter)
                set.prefetch(bytes, .slots)
            }
            let rule = set.match(name)
            #expect(rule == DomainRule(domain: "host\(i).example.test", listIndex: i % 5, syntax: i % 2 == 0 ? .plain : .adblock))
        }
        #expect(set.match("x.below.test")?.listIndex == 7)
        #expect(set.match("below.test") == nil)
        #expect(set.match("host20000.example.test") == nil)
        #expect(set.memoryFootprint < 20_021 * 64)
    }

    @Test func punycodeMatchesKnownEncodings() {
        #expect(Punycode.encodeLabel("bücher") == "xn--bcher-kva")
        #expect(Punycode.encodeLabel("münchen") == "xn--mnchen-3ya")
        #expect(Punycode.encodeLabel("例え") == "xn--r8jz45g")
        #expect(Punycode.encodeLabel("plain") == "plain")
    }
}
