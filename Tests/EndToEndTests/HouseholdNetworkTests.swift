import DNSWire
import Foundation
import Glibc
import HushApp
import Locking
import Resolver
import Sockets
import Stats
import Testing
import TestSupport

/// Hush as a household's DNS: a bridge with a phone, a TV and a laptop in network namespaces, each with its
/// own MAC, an address from a real DHCP server and two IPv6 addresses; Hush answers on the bridge with its
/// default rate limits. Everything is made by `Tests/HouseholdNetwork/household.sh` and removed afterwards.
@Suite(.serialized, .enabled(if: HouseholdPrerequisites.missing == nil, Comment(rawValue: HouseholdPrerequisites.missing ?? "")))
struct HouseholdNetworkTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("HouseholdNetwork")

}

enum HouseholdPrerequisites {
    /// Why the household cannot be built here, or nil.
    static let missing: String? = {
        guard Prerequisites.isRoot else { return "needs root to create network namespaces" }
        for tool in ["ip", "dnsmasq", "busybox", "dig"] where !Command.exists(tool) {
            return "\(tool) is not installed (scripts/install-deps installs it)"
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { return "/usr/bin/python3 is missing" }
        guard (try? Command.run("ip", ["netns", "add", "hh-probe-\(getpid())"]).status) == 0 else {
            return "this machine cannot create network namespaces"
        }
        _ = try? Command.run("ip", ["netns", "del", "hh-probe-\(getpid())"])
        return nil
    }()
}

extension HouseholdNetworkTests {
    struct Device {
        var namespace: String
        var mac: String
        var ipv4: String
        var ipv6: [String]
    }

    /// The network, and Hush on the bridge with stats on.
    final class Household {
        let id = Int(getpid() % 140) + 100
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("hush-household-\(UUID().uuidString)")
        var devices: [String: Device] = [:]
        var server: TestServer!

        /// `configure` adjusts Hush's config; it is given Hush's IPv4 address on the bridge.
        init(configure: (inout HushConfig, _ bridgeAddress: String) -> Void = { _, _ in }) throws {
            let up = try Command.run("/bin/bash", [HouseholdNetworkTests.directory.appendingPathComponent("household.sh").path,
                                                   "up", "\(id)", state.path])
            guard up.status == 0 else {
                down()
                throw HouseholdError(message: "household.sh up failed: \(up.error)")
            }
            let env = try String(contentsOf: state.appendingPathComponent("env"), encoding: .utf8)
            for line in env.split(separator: "\n") {
                let fields = line.split(separator: " ").map(String.init)
                devices[fields[0]] = Device(namespace: fields[1], mac: fields[2], ipv4: fields[3], ipv6: Array(fields[4...]))
            }
            let leases = state.appendingPathComponent("leases").path
            // dnsmasq writes the lease file on its own time: wait until every device's lease is in it, so Hush
            // reads the names at start even on a busy machine.
            for _ in 0..<50 {
                let text = (try? String(contentsOfFile: leases, encoding: .utf8)) ?? ""
                if devices.keys.allSatisfy({ text.contains(" \($0) ") }) { break }
                usleep(100_000)
            }
            let database = state.appendingPathComponent("stats.db").path
            server = try TestServer(configure: { [id] config in
                config.listen = [SocketAddress("10.77.\(id).1:0")!, SocketAddress("[fd77:0:0:\(id)::1]:0")!]
                config.statsEnabled = true
                config.statsDatabase = database
                config.statsPrivacy = .all
                config.leaseFiles = [leases]
                configure(&config, "10.77.\(id).1")
            })
        }

        func down() {
            server = nil
            _ = try? Command.run("/bin/bash", [HouseholdNetworkTests.directory.appendingPathComponent("household.sh").path,
                                               "down", "\(id)", state.path])
            try? FileManager.default.removeItem(at: state)
        }

        var v4: SocketAddress { server.service.server.addresses[0] }
        var v6: SocketAddress { server.service.server.addresses[1] }

        /// One lookup from a device with dig, from one of its addresses; the answers, or nil on no reply.
        func dig(_ device: String, _ name: String, from source: String) throws -> [String]? {
            let server = source.contains(":") ? v6 : v4
            let host = source.contains(":") ? "fd77:0:0:\(id)::1" : "10.77.\(id).1"
            let result = try Command.run("ip", ["netns", "exec", devices[device]!.namespace, "dig", "+short", "+tries=1", "+time=2",
                                                "-p", "\(server.port)", "-b", source, "@\(host)", name])
            return result.status == 0 ? result.output.split(separator: "\n").map(String.init) : nil
        }

        /// One lookup over DNS over TLS or HTTPS (`transport` "tls" or "https") with kdig, as a phone's
        /// Private DNS would; the answers.
        func kdig(_ device: String, _ transport: String, _ name: String) throws -> [String] {
            let listeners = server.service.encryptedListeners!
            let port = transport == "tls" ? listeners.tlsAddresses[0].port : listeners.httpsAddresses[0].port
            let result = try Command.run("ip", ["netns", "exec", devices[device]!.namespace, "kdig", "+short", "+timeout=2", "+retry=0",
                                                transport == "tls" ? "+tls" : "+https", "-p", "\(port)", "@10.77.\(id).1", name])
            return result.output.split(separator: "\n").map(String.init)
        }

        func report() throws -> StatsReport {
            server.service.stats!.flush()
            return StatsReport(store: try StatsStore.openForReading(path: server.service.config.statsDatabasePath))
        }
    }

    struct HouseholdError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

extension HouseholdNetworkTests {
    @Test func devicesAreKnownByMACAndLeaseNameWhateverAddressTheyUse() throws {
        let house = try Household()
        defer { house.down() }
        house.server.upstream.add("weather.test", .a("10.0.0.1"))
        let phone = house.devices["phone"]!
        for source in [phone.ipv4] + phone.ipv6 {
            #expect(try house.dig("phone", "weather.test", from: source) == ["10.0.0.1"], "from \(source)")
        }
        let tv = house.devices["tv"]!
        #expect(try house.dig("tv", "weather.test", from: tv.ipv6[0]) == ["10.0.0.1"])

        let devices = try house.report().devices(.since("1h")!)
        #expect(devices.count == 2, "\(devices.map(\.key))")
        let recordedPhone = try #require(devices.first { $0.mac == phone.mac })
        #expect(recordedPhone.name == "phone", "the name from the DHCP lease")
        #expect(Set(recordedPhone.addresses) == Set([phone.ipv4] + phone.ipv6))
        #expect(recordedPhone.queries == 3)
        #expect(devices.first { $0.mac == tv.mac }?.name == "tv")
        #expect(!devices.contains { $0.key.hasPrefix("ip:") }, "no address became a device of its own")
    }

    @Test func aLANFloodGetsBackAtMostTwiceWhatItSendsWhileTheNeighboursAreAnswered() throws {
        let house = try Household()
        defer { house.down() }
        // About 950 bytes of answer: what an amplifier asks for.
        for i in 0..<4 { house.server.upstream.add("big.test", .txt(String(repeating: "x", count: 220) + "\(i)")) }
        house.server.upstream.add("news.test", .a("10.0.0.2"))
        // Asked once first, so the flood meets a cached answer. A reply is charged when it is made, so a flood
        // that races the first upstream round trip would be admitted for as long as that trip takes, which
        // depends on how busy the machine is.
        let laptop = house.devices["laptop"]!
        _ = try Command.run("ip", ["netns", "exec", laptop.namespace, "dig", "+short", "+tries=1", "+time=2", "-p", "\(house.v4.port)",
                                   "-b", laptop.ipv4, "@10.77.\(house.id).1", "big.test", "TXT"])

        let flood = Process()
        flood.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        flood.arguments = ["netns", "exec", house.devices["laptop"]!.namespace, "/usr/bin/python3",
                           HouseholdNetworkTests.directory.appendingPathComponent("flood.py").path,
                           "10.77.\(house.id).1", "\(house.v4.port)", "big.test", "3000"]
        let output = Pipe()
        flood.standardOutput = output
        try flood.run()
        var answered = 0
        let tv = house.devices["tv"]!
        for round in 0..<10 where try house.dig("tv", "news.test", from: round % 2 == 0 ? tv.ipv4 : tv.ipv6[0]) == ["10.0.0.2"] {
            answered += 1
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        flood.waitUntilExit()
        let numbers = text.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        try #require(numbers.count == 3, "flood.py printed \(text)")
        let (sent, received, replies) = (numbers[0], numbers[1], numbers[2])
        print("LAN flood: \(sent) bytes sent, \(received) back in \(replies) replies (x\(String(format: "%.2f", Double(received) / Double(sent))))")
        #expect(received <= 2 * sent, "\(received) bytes back for \(sent) sent")
        #expect(replies > 0 && received / max(replies, 1) < 950, "most of the flood got short replies or none")
        #expect(answered == 10, "the TV was answered during the flood (\(answered) of 10)")
    }

    @Test func aForwarderOnLoopbackIsNeverLimited() throws {
        let house = try Household()
        defer { house.down() }
        let local = try TestServer(configure: { $0.listen = [SocketAddress("127.0.0.1:0")!] })
        local.upstream.add("busy.test", .a("10.0.0.3"))
        // 20,000 queries from 50 sockets, as a router's dnsmasq forwarding for the house would send them.
        let replies = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 50) { _ in
            let sizes = DNSTestClient.flood(Array(repeating: DNSTestClient.query("busy.test"), count: 400), to: local.address, from: "127.0.0.1",
                                                 window: 20)
            replies.withLock { $0 += sizes.count }
        }
        #expect(replies.withLock { $0 } == 20_000)
        #expect(!local.recorder.dispositions.contains { $0.disposition == .rateLimited })
    }

    /// Devices asking over DNS over TLS and HTTPS are known by their MAC, as over plain DNS: the client of a
    /// query is the address of its connection.
    @Test(.enabled(if: Command.exists("kdig"), "needs kdig (scripts/install-deps installs it)"))
    func encryptedDevicesAreKnownByMAC() throws {
        let house = try Household { config, bridge in
            config.tlsListen = [SocketAddress("\(bridge):0")!]
            config.httpsListen = [SocketAddress("\(bridge):0")!]
            config.blocklists = [TestFiles.xiaomiList]
        }
        defer { house.down() }
        house.server.upstream.add("weather.test", .a("10.0.0.1"))
        #expect(try house.kdig("phone", "tls", "weather.test") == ["10.0.0.1"])
        #expect(try house.kdig("phone", "tls", "sa.api.intl.miui.com") == ["0.0.0.0"])
        #expect(try house.kdig("tv", "https", "weather.test") == ["10.0.0.1"])
        let devices = try house.report().devices(.since("1h")!)
        let phone = try #require(devices.first { $0.mac == house.devices["phone"]!.mac }, "\(devices.map(\.key))")
        #expect(phone.queries == 2 && phone.blocked == 1 && phone.addresses == [house.devices["phone"]!.ipv4], "\(devices)")
        #expect(devices.first { $0.mac == house.devices["tv"]!.mac }?.queries == 1, "\(devices)")
        #expect(!devices.contains { $0.key.hasPrefix("ip:") }, "no address became a device of its own")
    }
}
