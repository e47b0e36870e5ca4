import Blocklist
import DNSWire
import Foundation
import HushApp
import Testing
import TestSupport

@Suite struct SubscriptionTests {
    static func list(_ count: Int, prefix: String = "host") -> String {
        "# Title: test list\n" + (0..<count).map { "\(prefix)\($0).tracker.test" }.joined(separator: "\n") + "\n"
    }

    func temporaryDirectory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hush-state-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func downloadsThenAsksWithItsETag() throws {
        let http = try TestHTTPServer()
        http.set("/list.txt", .init(body: Self.list(10), etag: "\"v1\""))
        let subscription = try Subscription(spec: "\(http.url("/list.txt")) vendor=Acme category=vendor-telemetry")
        let updater = ListUpdater(directory: temporaryDirectory())
        #expect(updater.update(subscription) == .updated(rules: 10, previous: nil))
        #expect(updater.update(subscription) == .notModified)
        #expect(http.receivedHeaders.last?["if-none-match"] == "\"v1\"")
        let text = try String(contentsOfFile: subscription.source(in: updater.directory).path, encoding: .utf8)
        #expect(text == Self.list(10))
    }

    @Test func badDownloadsAreRefusedAndThePreviousCopyKept() throws {
        let http = try TestHTTPServer()
        let subscription = try Subscription(spec: http.url("/list.txt"))
        let updater = ListUpdater(directory: temporaryDirectory(), maxBytes: 100_000)
        let path = subscription.source(in: updater.directory).path
        http.set("/list.txt", .init(body: Self.list(100)))
        #expect(updater.update(subscription) == .updated(rules: 100, previous: nil))

        http.set("/list.txt", .init(status: 500, body: "oops"))
        #expect(updater.update(subscription) == .failed("HTTP 500"))
        http.set("/list.txt", .init(body: ""))
        #expect(updater.update(subscription) == .refused("the download is empty"))
        http.set("/list.txt", .init(body: "<html><body>Rate limited, try later</body></html>\n"))
        guard case .refused(let notAList) = updater.update(subscription) else { Issue.record("HTML accepted"); return }
        #expect(notAList.contains("is it a list?"))
        http.set("/list.txt", .init(body: Self.list(40)))
        #expect(updater.update(subscription) == .refused("the list would shrink from 100 to 40 rules, more than half"))
        http.set("/list.txt", .init(body: Self.list(20_000)))
        guard case .refused(let tooBig) = updater.update(subscription) else { Issue.record("oversized accepted"); return }
        #expect(tooBig.contains("cap"))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == Self.list(100), "the good old list is kept")

        http.set("/list.txt", .init(body: Self.list(60)))
        #expect(updater.update(subscription) == .updated(rules: 60, previous: 100), "a smaller list within half is fine")
        let unreachable = try Subscription(spec: "http://127.0.0.1:1/list.txt")
        guard case .failed = updater.update(unreachable) else { Issue.record("no server, yet not failed"); return }
    }

    @Test func theServerBlocksSubscribedNamesAndRestartsOffline() throws {
        let http = try TestHTTPServer()
        http.set("/native.xiaomi.txt", .init(body: "||sub.tracker.test^\n"))
        let state = temporaryDirectory()
        let spec = "\(http.url("/native.xiaomi.txt")) vendor=Xiaomi category=vendor-telemetry"
        let configure: (inout HushConfig) -> Void = { config in
            config.subscriptions = [try! Subscription(spec: spec)]
            config.stateDirectory = state
        }
        let server = try TestServer(configure: configure)
        let before = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("sub.tracker.test"))))
        #expect(before.rcode == .nxDomain, "not fetched yet: forwarded")
        let outcomes = server.service.refreshSubscriptions()
        #expect(outcomes.map(\.1) == [.updated(rules: 1, previous: nil)])
        let after = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("sub.tracker.test"))))
        #expect(after.answers.map(\.data) == ["0.0.0.0"])
        #expect(server.recorder.last("sub.tracker.test")?.listMatch?.list.vendor == "Xiaomi")

        http.set("/native.xiaomi.txt", .init(status: 503, body: ""))
        let offline = try TestServer(configure: configure)
        let restarted = try LDNSMessage(wire: try #require(offline.udp(DNSTestClient.query("sub.tracker.test"))))
        #expect(restarted.answers.map(\.data) == ["0.0.0.0"], "the copy on disk serves after a restart")
    }

    @Test func subscriptionSpecsAreChecked() {
        #expect(throws: ListProblemMessage.self) { try Subscription(spec: "ftp://example.org/list") }
        #expect(throws: ListProblemMessage.self) { try Subscription(spec: "https://example.org/list colour=red") }
        #expect((try? Subscription(spec: "https://example.org/a.txt vendor=Big_Vendor"))?.vendor == "Big Vendor")
    }
}
