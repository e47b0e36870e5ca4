import Blocklist
import Foundation

/// Finds the bundled lists and turns the config's list settings into sources to load.
public enum BundledLists {
    /// The usual places, in order: beside an installed binary, the system share folders, the source tree.
    public static func directory(configured: String?) -> String? {
        if let configured { return configured }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidates = [
            executable.deletingLastPathComponent().appendingPathComponent("../share/hush/blocklists").standardized.path,
            "/usr/local/share/hush/blocklists",
            "/usr/share/hush/blocklists",
            FileManager.default.currentDirectoryPath + "/blocklists",
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/allowlist.txt") }
    }

    /// Why the bundled lists would not load, when they are on but cannot be found.
    public static func problem(for config: HushConfig) -> String? {
        guard config.bundledLists else { return nil }
        guard let directory = directory(configured: config.bundledListsDirectory) else {
            return "the bundled lists were not found (set blocking.bundled-lists-dir or --lists-dir)"
        }
        return FileManager.default.fileExists(atPath: directory) ? nil : "the bundled lists folder \(directory) does not exist"
    }

    /// Bundled files first (allowlist.txt as an allowlist), then the user's lists, then the downloaded
    /// copies of subscriptions (those not fetched yet are left out until `hush lists update`).
    public static func sources(for config: HushConfig) -> [ListSource] {
        var sources: [ListSource] = []
        if config.bundledLists, let directory = directory(configured: config.bundledListsDirectory) {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for file in files.sorted() where file.hasSuffix(".txt") {
                let purpose: ListInfo.Purpose = file == "allowlist.txt" ? .allow : .block
                sources.append(ListSource(path: "\(directory)/\(file)", purpose: purpose))
            }
        }
        sources += config.blocklists.map { ListSource(path: $0, purpose: .block) }
        sources += config.allowlists.map { ListSource(path: $0, purpose: .allow) }
        sources += config.subscriptions.map { $0.source(in: config.subscriptionDirectory) }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
        return sources
    }
}
