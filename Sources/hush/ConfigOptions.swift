import ArgumentParser
import HushApp
import Resolver
import Sockets

/// Options shared by every command that reads the configuration.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Config file (see config/hush.toml). Flags override it.")
    var config: String?

    @Option(name: .long, help: "A blocklist file; repeat for more.")
    var blocklist: [String] = []

    @Option(name: .long, help: "An allowlist file; repeat for more. An allow rule wins over any block.")
    var allowlist: [String] = []

    @Flag(name: .long, help: "Do not load the bundled lists.")
    var noBundledLists = false

    @Option(name: .long, help: "Folder holding the bundled lists.")
    var listsDir: String?

    @Option(name: .long, help: "Where Hush keeps downloaded lists and its stats database (default /var/lib/hush).")
    var stateDir: String?

    @Option(name: .long, help: "The stats database (default: stats.db in the state directory).")
    var statsDB: String?

    func load() throws -> HushConfig {
        var result = HushConfig()
        if let config { result = try HushConfig.load(path: config) }
        result.commandLineBlocklists = blocklist
        result.commandLineAllowlists = allowlist
        if noBundledLists { try result.set("blocking.bundled-lists", .boolean(false), from: "--no-bundled-lists") }
        if let listsDir { try result.set("blocking.bundled-lists-dir", .string(listsDir), from: "--lists-dir") }
        if let stateDir { try result.set("storage.state-dir", .string(stateDir), from: "--state-dir") }
        if let statsDB { try result.set("stats.db", .string(statsDB), from: "--stats-db") }
        return result
    }
}
