import Foundation
import HushApp
import Resolver
import Sockets
import Testing
import TestSupport

@Suite struct ConfigTests {

    @Test func theDocumentedExampleDecodes() throws {
        let config = try HushConfig.load(path: Repository.root.appendingPathComponent("config/hush.toml").path)
        #expect(config.listen == [SocketAddress("127.0.0.1:5300")!])
        #expect(config.upstreams == [.plain(SocketAddress("127.0.0.1:5399")!)])
        #expect(config.cacheSizeMegabytes == 16)
        #expect(config.blockPolicy == BlockPolicy(mode: .null, ttl: 300))
        #expect(config.tcpIdleTimeoutSeconds == 10)
        #expect(config.serveStale)
    }

    func error(_ text: String) -> ConfigError? {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hush-\(UUID()).toml").path
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try HushConfig.load(path: path)
            return nil
        } catch {
            #expect(error.path == path)
            return error
        }
    }

    @Test func errorsNameTheLineAndTheKey() throws {
        let unknown = try #require(error("[cache]\nsize-mb = 4\n\n  colour = \"blue\"\n"))
        #expect(unknown.line == 4 && unknown.key == "cache.colour")
        #expect(unknown.message.hasPrefix("unknown key"))
        let wrongType = try #require(error("[upstream]\ntimeout-ms = \"fast\"\n"))
        #expect(wrongType.line == 2 && wrongType.key == "upstream.timeout-ms" && wrongType.message == "expected a number")
        let badAddress = try #require(error("[server]\nlisten = [\n  \"127.0.0.1:53\",\n  \"nowhere\"\n]\n"))
        #expect(badAddress.line == 2 && badAddress.message.contains("nowhere"))
        let outOfRange = try #require(error("[server]\ntcp-idle-timeout = 0\n"))
        #expect(outOfRange.message.contains("outside"))
        let twice = try #require(error("[blocking]\nttl = 1\nttl = 2\n"))
        #expect(twice.line == 3 && twice.message.contains("first on line 2"))
        let syntax = try #require(error("[log\n"))
        #expect(syntax.line == 1)
        #expect(try #require(error("[blocking]\nmode = \"sometimes\"\n")).key == "blocking.mode")
    }

    @Test func blockModesParse() {
        #expect(HushConfig.blockMode("NXDOMAIN") == .nxdomain)
        #expect(HushConfig.blockMode("refused") == .refused)
        #expect(HushConfig.blockMode("10.0.0.1,fd00::1") == .address(v4: [10, 0, 0, 1], v6: [0xFD] + Array(repeating: 0, count: 14) + [1]))
        #expect(HushConfig.blockMode("maybe") == nil)
    }
}
