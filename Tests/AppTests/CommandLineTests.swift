import DNSWire
import Foundation
import Glibc
import Sockets
import Testing
import TestSupport

/// Runs the real `hush` binary, built beside the test bundle.
@Suite struct CommandLineTests {
    @Test func serveWorksFromTheCommandLineAlone() throws {
        let upstream = try StubUpstream()
        upstream.add("example.com", .a("93.184.216.34"))
        let port = try HushBinary.freePort()
        let process = Process()
        process.executableURL = HushBinary.url
        process.arguments = ["serve", "--listen", "127.0.0.1:\(port)", "--upstream", "\(upstream.address)", "--no-stats"]
        process.standardError = Pipe()
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        let server = SocketAddress(ip: .v4(0x7F00_0001), port: port)
        var reply: [UInt8]?
        // Until the child has bound its port, each try fails at once with ECONNREFUSED: pace them.
        for _ in 0..<100 where reply == nil {
            reply = DNSTestClient.udp(DNSTestClient.query("example.com"), to: server, timeoutMilliseconds: 200)
            if reply == nil { usleep(100_000) }
        }
        let message = try LDNSMessage(wire: try #require(reply))
        #expect(message.answers.map(\.data) == ["93.184.216.34"])
        let blocked = try LDNSMessage(wire: try #require(DNSTestClient.udp(DNSTestClient.query("sa.api.intl.miui.com"), to: server)))
        #expect(blocked.answers.map(\.data) == ["0.0.0.0"], "bundled lists are on by default")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "SIGTERM stops cleanly")
    }

    @Test func helpExplainsEveryOption() throws {
        let help = try HushBinary.run(["serve", "--help"]).output
        for option in ["--listen", "--upstream", "--config", "--blocklist", "--allowlist", "--block-mode", "--no-bundled-lists"] {
            #expect(help.contains(option))
        }
    }

    @Test func aBadConfigIsReportedWithItsLocation() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hush-bad-\(UUID()).toml").path
        try "[server]\nlisten = 53\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try HushBinary.run(["serve", "--config", path])
        #expect(result.status != 0)
        #expect(result.error.contains("\(path):2: server.listen"))
    }
}

@Suite struct CheckCommandTests {
    @Test func bundledListsBlockXiaomiAndAllowItsConnectivityCheck() throws {
        let result = try HushBinary.run(["check", "sa.api.intl.miui.com", "connect.rom.miui.com"])
        let text = result.output
        #expect(result.status == 0, "\(result.error)")
        #expect(text.contains("sa.api.intl.miui.com: blocked by Xiaomi telemetry (xiaomi.txt: sa.api.intl.miui.com) [Xiaomi, vendor-telemetry]"))
        #expect(text.contains("connect.rom.miui.com: allowed by"))
        let json = try HushBinary.run(["check", "--json", "SA.api.intl.miui.com."]).output
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["blocked"] as? Bool == true)
        #expect(object["vendor"] as? String == "Xiaomi")
        #expect(object["category"] as? String == "vendor-telemetry")
        #expect(object["list"] as? String == "xiaomi.txt")
        #expect(object["rule"] as? String == "sa.api.intl.miui.com")
    }

    @Test func readsNamesFromStandardInput() throws {
        let result = try HushBinary.run(["check", "--json", "--file", "-", "--no-bundled-lists", "--blocklist",
                                               TestServer.listFile("mine.txt", "||mine.test^\n")],
                                              input: "a.mine.test\n# comment\nother.test\n")
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].contains("\"blocked\":true") && lines[0].contains("\"rule\":\"||mine.test^\""))
        #expect(lines[1].contains("\"blocked\":false") && lines[1].contains("\"verdict\":\"unlisted\""))
    }
}
