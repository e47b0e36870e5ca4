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

    /// A bundled list whose header says `# Default: off` loads only when `blocking.bundled-optional` names it.
    static func isOffByDefault(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = String(decoding: (try? handle.read(upToCount: 4096)) ?? Data(), as: UTF8.self)
        return head.split(separator: "\n").prefix { $0.hasPrefix("#") }.contains {
            $0.lowercased().replacingOccurrences(of: " ", with: "") == "#default:off"
        }
    }

    /// The optional bundled lists (off by default) in `directory`, by the name `bundled-optional` takes.
    public static func optionalLists(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            .filter { $0.hasSuffix(".txt") && isOffByDefault("\(directory)/\($0)") }.map { String($0.dropLast(4)) }
    }

    /// Bundled files first (allowlist.txt as an allowlist), then the user's lists and the names applied from
    /// `hush suggest`, then the downloaded copies of subscriptions (those not fetched yet are left out until `hush lists update`).
    public static func sources(for config: HushConfig) -> [ListSource] {
        var sources: [ListSource] = []
        if config.bundledLists, let directory = directory(configured: config.bundledListsDirectory) {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for file in files.sorted() where file.hasSuffix(".txt") {
                let path = "\(directory)/\(file)"
                if isOffByDefault(path), !config.bundledOptional.contains(String(file.dropLast(4))) { continue }
                let purpose: ListInfo.Purpose = file == "allowlist.txt" ? .allow : .block
                sources.append(ListSource(path: path, purpose: purpose))
            }
        }
        sources += (config.blocklists + config.commandLineBlocklists).map { ListSource(path: $0, purpose: .block) }
        sources += (config.allowlists + config.commandLineAllowlists).map { ListSource(path: $0, purpose: .allow) }
        if FileManager.default.fileExists(atPath: config.suggestedListPath) {
            sources.append(ListSource(path: config.suggestedListPath, purpose: .block, name: "Suggested by Hush",
                                      category: "suggested", vendor: "Suggested by Hush"))
        }
        sources += config.subscriptions.map { $0.source(in: config.subscriptionDirectory) }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
        return sources
    }
}
