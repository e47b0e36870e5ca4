import DNSWire
import Foundation
import Glibc
import Sockets
import Testing
import TestSupport

/// Runs the real `hush` binary, built beside the test bundle.
@Suite struct CommandLineTests {
    static var binary: URL {
        let bundle = URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? Bundle.main.bundlePath)
        var directory = bundle.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: directory.appendingPathComponent("hush").path) {
            directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".build/debug")
        }
        return directory.appendingPathComponent("hush")
    }

    static func run(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = ConfigTests.repository
        let output = Pipe(), error = Pipe(), stdin = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    /// A port that was free a moment ago, for a process that cannot report its own.
    static func freePort() throws -> UInt16 {
        let fd = try Socket.bind(SocketAddress("127.0.0.1:0")!, type: Socket.udp)
        defer { close(fd) }
        return Socket.localAddress(fd)!.port
    }

    @Test func serveWorksFromTheCommandLineAlone() throws {
        let upstream = try StubUpstream()
        upstream.add("example.com", .a("93.184.216.34"))
        let port = try Self.freePort()
        let process = Process()
        process.executableURL = Self.binary
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
        let help = try Self.run(["serve", "--help"]).output
        for option in ["--listen", "--upstream", "--config", "--blocklist", "--allowlist", "--block-mode", "--no-bundled-lists"] {
            #expect(help.contains(option))
        }
    }

    @Test func aBadConfigIsReportedWithItsLocation() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hush-bad-\(UUID()).toml").path
        try "[server]\nlisten = 53\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try Self.run(["serve", "--config", path])
        #expect(result.status != 0)
        #expect(result.error.contains("\(path):2: server.listen"))
    }
}

@Suite struct CheckCommandTests {
    @Test func bundledListsBlockXiaomiAndAllowItsConnectivityCheck() throws {
        let result = try CommandLineTests.run(["check", "sa.api.intl.miui.com", "connect.rom.miui.com"])
        let text = result.output
        #expect(result.status == 0, "\(result.error)")
        #expect(text.contains("sa.api.intl.miui.com: blocked by Xiaomi telemetry (xiaomi.txt: sa.api.intl.miui.com) [Xiaomi, vendor-telemetry]"))
        #expect(text.contains("connect.rom.miui.com: allowed by"))
        let json = try CommandLineTests.run(["check", "--json", "SA.api.intl.miui.com."]).output
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["blocked"] as? Bool == true)
        #expect(object["vendor"] as? String == "Xiaomi")
        #expect(object["category"] as? String == "vendor-telemetry")
        #expect(object["list"] as? String == "xiaomi.txt")
        #expect(object["rule"] as? String == "sa.api.intl.miui.com")
    }

    @Test func readsNamesFromStandardInput() throws {
        let result = try CommandLineTests.run(["check", "--json", "--file", "-", "--no-bundled-lists", "--blocklist",
                                               TestServer.listFile("mine.txt", "||mine.test^\n")],
                                              input: "a.mine.test\n# comment\nother.test\n")
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].contains("\"blocked\":true") && lines[0].contains("\"rule\":\"||mine.test^\""))
        #expect(lines[1].contains("\"blocked\":false") && lines[1].contains("\"verdict\":\"unlisted\""))
    }
}
