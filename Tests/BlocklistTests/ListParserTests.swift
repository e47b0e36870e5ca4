@testable import Blocklist
import Testing

@Suite struct ListParserTests {
    func load(_ text: String, purpose: ListInfo.Purpose = .block) -> (ListSet, ListParser.Outcome) {
        var rules = RuleSets()
        let outcome = ListParser.parse(Array(text.utf8), source: "test.txt", listIndex: 0, purpose: purpose, into: &rules)
        rules.seal()
        return (ListSet(lists: [ListInfo(source: "test.txt", name: "Test", vendor: "Acme")], rules: rules), outcome)
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
        var rules = RuleSets()
        _ = ListParser.parse(Array("miui.com\n@@||safe.miui.com^\n".utf8), source: "b", listIndex: 0, purpose: .block, into: &rules)
        _ = ListParser.parse(Array("connect.rom.miui.com\n".utf8), source: "a", listIndex: 1, purpose: .allow, into: &rules)
        rules.seal()
        let lists = ListSet(lists: [ListInfo(source: "b"), ListInfo(source: "a", purpose: .allow)], rules: rules)
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

@Suite struct PatternRuleTests {
    func load(_ text: String, allow: String = "") -> (ListSet, ListParser.Outcome) {
        var rules = RuleSets()
        let outcome = ListParser.parse(Array(text.utf8), source: "block.txt", listIndex: 0, purpose: .block, into: &rules)
        _ = ListParser.parse(Array(allow.utf8), source: "allow.txt", listIndex: 1, purpose: .allow, into: &rules)
        rules.seal()
        return (ListSet(lists: [ListInfo(source: "block.txt"), ListInfo(source: "allow.txt", purpose: .allow)], rules: rules), outcome)
    }

    func blocked(_ lists: ListSet, _ name: String) -> String? {
        if case .blocked(let match) = lists.verdict(for: Array(name.utf8)) { return match.rule }
        return nil
    }

    @Test func wildcardsMatchInsideLabelsAndCoverNamesBelow() {
        let (lists, outcome) = load("""
            ||log*-normal-*.tiktokv.com^
            *.mistat.*.xiaomi.com
            acr-*.samsungcloud.tv
            ||*.wild.test^
            """)
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(outcome.patterns == 3, "||*.x^ is a names-below rule, not a pattern")
        for name in ["log16-normal-useast1a.tiktokv.com", "log-normal-alisg.tiktokv.com", "x.log31-normal-va.tiktokv.com"] {
            #expect(blocked(lists, name) == "||log*-normal-*.tiktokv.com^", "\(name)")
        }
        #expect(blocked(lists, "api16-normal-useast1a.tiktokv.com") == nil)
        #expect(blocked(lists, "log16-boot.tiktokv.com") == nil)
        #expect(blocked(lists, "log16-normal-useast1a.tiktokv.com.evil.test") == nil, "the anchor is the end of the name")
        #expect(blocked(lists, "data.mistat.kr.xiaomi.com") == "*.mistat.*.xiaomi.com")
        #expect(blocked(lists, "data.mistat.rus.xiaomi.com") == "*.mistat.*.xiaomi.com")
        #expect(blocked(lists, "mistat.kr.xiaomi.com") == nil, "the leading *. needs a label before mistat")
        #expect(blocked(lists, "acr-us-prd.samsungcloud.tv") == "acr-*.samsungcloud.tv")
        #expect(blocked(lists, "samsungcloud.tv") == nil)
        #expect(blocked(lists, "a.wild.test") == "*.wild.test" && blocked(lists, "wild.test") == nil)
    }

    @Test func regularExpressionsMatchTheWholeName() {
        let (lists, outcome) = load("""
            /^(rt)?log[0-9]+-[a-z0-9-]+\\.tiktokv\\.(com|us|eu)$/
            /^mads(-[a-z]{2})?\\.amazon\\.com$/
            /^rtlog\\d+-/
            """)
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(blocked(lists, "rtlog31-normal-alisg.tiktokv.com") == "/^(rt)?log[0-9]+-[a-z0-9-]+\\.tiktokv\\.(com|us|eu)$/")
        #expect(blocked(lists, "log16-normal-va.tiktokv.us") != nil)
        #expect(blocked(lists, "log-boot.tiktokv.com") == nil)
        #expect(blocked(lists, "mads-eu.amazon.com") != nil && blocked(lists, "mads.amazon.com") != nil)
        #expect(blocked(lists, "x.mads.amazon.com") == nil, "a regular expression is matched against the whole name")
        #expect(blocked(lists, "rtlog5-anything.example") == "/^rtlog\\d+-/", "an unanchored pattern is tried for every name")
    }

    @Test func anchorsAreTheLiteralDomainsAtTheEnd() {
        #expect(NamePattern.wildcardAnchor(Array("log*-normal-*.tiktokv.com".utf8)).map { String(decoding: $0, as: UTF8.self) } == "tiktokv.com")
        #expect(NamePattern.wildcardAnchor(Array("*prod-knoxlog.secb2b.com".utf8)).map { String(decoding: $0, as: UTF8.self) } == "secb2b.com")
        #expect(NamePattern.wildcardAnchor(Array("device-metrics-us-*".utf8)) == nil)
        let anchors = NamePattern.regexAnchors("^(rt)?log[0-9]+-[a-z0-9-]+\\.tiktokv\\.(com|us)$").map { String(decoding: $0, as: UTF8.self) }
        #expect(Set(anchors) == ["tiktokv.com", "tiktokv.us"])
        #expect(NamePattern.regexAnchors("^mads(-[a-z]{2})?\\.amazon\\.com$").map { String(decoding: $0, as: UTF8.self) } == ["amazon.com"])
        #expect(NamePattern.regexAnchors("^exact\\.host\\.test$").map { String(decoding: $0, as: UTF8.self) } == ["exact.host.test"])
        #expect(NamePattern.regexAnchors("^rtlog\\d+-").isEmpty)
    }

    @Test func theAllowlistWinsOverPatternsAndPatternsCanAllow() {
        let (lists, _) = load("||*.ads.*.test^\n@@||safe*.ads.eu.test^\n", allow: "keep.ads.us.test\n/^fine[0-9]\\.ads\\.uk\\.test$/\n")
        #expect(blocked(lists, "x.ads.us.test") == "||*.ads.*.test^")
        for name in ["keep.ads.us.test", "a.keep.ads.us.test", "fine1.ads.uk.test", "safe2.ads.eu.test"] {
            guard case .allowed(_, let overriding) = lists.verdict(for: Array(name.utf8)) else {
                Issue.record("\(name) must be allowed"); continue
            }
            #expect(overriding?.rule == "||*.ads.*.test^")
        }
    }

    @Test func badPatternsAreReportedWithTheirLine() {
        let (lists, outcome) = load("ok.test\n/^(unclosed\\.test$/\n||bad*chars!.test^\n/(?=look)ahead\\.test$/\n*.*\n/^ends-in\\/\nfine*.test\n"
            + "/^a++\\.test$/\n/^(a+)+\\.test$/\n/^a{1000}\\.test$/\n/^\(String(repeating: "a", count: 300))$/\n/^(x[0-9]{2})?y\\.test$/\n")
        #expect(outcome.problems.map(\.line) == [2, 3, 4, 5, 6, 8, 9, 10, 11], "\(outcome.problems)")
        #expect(blocked(lists, "x12y.test") != nil, "an optional group that repeats inside is fine")
        #expect(outcome.problems[0].description.hasPrefix("block.txt:2: bad regular expression"))
        #expect(blocked(lists, "fine1.test") == "fine*.test" && blocked(lists, "ok.test") == "ok.test")
    }
}
