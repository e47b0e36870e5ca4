import Blocklist
import Foundation
import Sockets
@testable import Stats
import Testing

/// The parts of discovery on a clock the test controls.
@Suite struct DiscoveryTests {
    /// `count` query times `period` apart, each off by up to `jitter` of the period, from a seeded generator.
    func beat(_ period: Double, count: Int, jitter: Double = 0.05, seed: UInt64 = 1) -> [Double] {
        var state = seed
        func random() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        return (0..<count).map { Double($0) * period + (random() * 2 - 1) * jitter * period + 1_000_000 }.sorted()
    }

    @Test func aBeaconIsFoundWithinTenOccurrencesWhateverItsPeriod() {
        for period in [3.0, 30, 300, 900, 3600] {
            let found = (BeaconDetector.minimumQueries...10).first { BeaconDetector.beacon(in: beat(period, count: $0), ttl: 60) != nil }
            #expect(found != nil, "a beacon every \(period) s")
            if let beacon = BeaconDetector.beacon(in: beat(period, count: 10), ttl: 60) {
                #expect(abs(beacon.period - period) < period * 0.1)
            }
        }
    }

    @Test func aMissedBeatDoesNotHideABeacon() {
        var times = beat(300, count: 10)
        times.remove(at: 4)
        #expect(BeaconDetector.beacon(in: times, ttl: 60) != nil)
    }

    @Test func browsingIsNotABeacon() {
        // Bursts of a page's lookups, minutes apart at irregular times.
        let times: [Double] = [0, 1.5, 3, 200, 201.2, 900, 902, 2400, 2400.5, 5000]
        #expect(BeaconDetector.beacon(in: times, ttl: 60) == nil)
        #expect(BeaconDetector.beacon(in: [0, 1, 2, 3, 4, 5], ttl: nil) == nil, "a second apart is a burst")
    }

    @Test func repeatsTheTTLExplainsAreNoBeacon() {
        #expect(BeaconDetector.beacon(in: beat(300, count: 10), ttl: 300) == nil, "a device re-resolving a name it uses")
        #expect(BeaconDetector.beacon(in: beat(300, count: 10), ttl: 60) != nil)
    }

    @Test func wordsAreWholeWordsAndSomeVetoAName() {
        #expect(TelemetryWords.score("log16-normal-useast1a.tiktokv.com")?.words == ["log"])
        #expect(TelemetryWords.score("blog.example.com")?.value == 0)
        #expect(TelemetryWords.score("www.googleanalytics.example")?.words == ["analytics"])
        #expect((TelemetryWords.score("metrics.stats.example")?.value ?? 0) > 0.8, "two words count more than one")
        for needed in ["login.example.com", "time.android.com", "mtalk.google.com", "ota.vendor.example"] {
            #expect(TelemetryWords.score(needed) == nil, "\(needed)")
        }
    }

    @Test func familiesComeFromTheListsAndTheAllowlistProtects() {
        var rules = RuleSets()
        _ = ListParser.parse(Array("data.mistat.rus.xiaomi.test\nlog31-normal-va.tiktokv.test\n".utf8), source: "v.txt", listIndex: 0,
                             purpose: .block, into: &rules)
        _ = ListParser.parse(Array("connect.rom.miui.test\n".utf8), source: "a.txt", listIndex: 1, purpose: .allow, into: &rules)
        rules.seal()
        let families = NameFamilies(ListSet(lists: [ListInfo(source: "v.txt", category: "vendor-telemetry", vendor: "Xiaomi"),
                                                   ListInfo(source: "a.txt", purpose: .allow)], rules: rules))
        #expect(families.relation(of: "data.mistat.kr.xiaomi.test") == .init(vendor: "Xiaomi", sameShape: true))
        #expect(families.relation(of: "log16-normal-va.tiktokv.test") == .init(vendor: "Xiaomi", sameShape: true))
        #expect(families.relation(of: "www.xiaomi.test") == .init(vendor: "Xiaomi", sameShape: false))
        #expect(families.relation(of: "example.test") == nil)
        #expect(families.isProtected("connect.rom.miui.test") && families.isProtected("a.connect.rom.miui.test"))
        #expect(families.isProtected("connect.intl.miui.test"), "shaped like an allowlisted name")
    }

    @Test func theCandidateTableStaysWithinItsBound() {
        var discovery = Discovery(capacity: 20_000)
        let address = IPAddress("192.168.1.20")!
        for i in 0..<60_000 {
            let name = "host\(i).some-long-domain-name.example.com"
            if discovery.observe(address: address, nameHash: name.hashValue, time: Double(i), ttl: 60) {
                discovery.name(name.hashValue, is: name)
            }
        }
        #expect(discovery.pairCount <= 20_000)
        #expect(discovery.approximateBytes < 8 << 20, "\(discovery.approximateBytes) bytes at the bound")
        print("discovery at its bound: \(discovery.pairCount) pairs, about \(discovery.approximateBytes / 1024) KiB")
    }

    @Test func evidenceCombinesWhatFiredAndANameAskedOnceIsNone() {
        var discovery = Discovery()
        let phone = IPAddress("192.168.1.20")!, tv = IPAddress("192.168.1.21")!
        func ask(_ name: String, from address: IPAddress, at time: Double) {
            if discovery.observe(address: address, nameHash: name.hashValue, time: time, ttl: 60) {
                discovery.name(name.hashValue, is: name)
            }
        }
        for i in 0..<8 {
            ask("quiet.example.test", from: phone, at: Double(i) * 45)
            ask("quiet.example.test", from: tv, at: Double(i) * 45 + 3)
        }
        ask("telemetry.once.test", from: phone, at: 10)
        let found = discovery.takeChanged { $0 == phone ? "mac:phone" : "mac:tv" }
        #expect(found.map(\.name) == ["quiet.example.test"])
        #expect(found.first?.reasons == ["beacon", "spread"])
        #expect(found.first?.devices == ["mac:phone", "mac:tv"] && found.first?.count == 16)
        #expect(abs((found.first?.interval ?? 0) - 45) < 1)
    }
}
