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
        result.blocklists += blocklist
        result.allowlists += allowlist
        if noBundledLists { result.bundledLists = false }
        if let listsDir { result.bundledListsDirectory = listsDir }
        if let stateDir { result.stateDirectory = stateDir }
        if let statsDB { result.statsDatabase = statsDB }
        return result
    }
}

func parseAddresses(_ texts: [String], what: String) throws -> [SocketAddress] {
    try texts.map { text in
        guard let address = SocketAddress(text, defaultPort: 53) else {
            throw ValidationError("\(what) \"\(text)\" is not an address such as 127.0.0.1:5300 or [::1]:5300")
        }
        return address
    }
}
