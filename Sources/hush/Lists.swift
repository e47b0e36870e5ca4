import ArgumentParser
import Blocklist
import Foundation
import HushApp

extension Hush {
    struct Lists: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the lists in force, browse the catalogue of known-good lists, subscribe and unsubscribe.",
            subcommands: [Show.self, Catalog.self, Add.self, Remove.self, Update.self])
    }
}

extension Hush.Lists {
    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download the subscribed lists into the state directory and have the running server reload them. A failed, empty or much smaller download is refused and the previous copy kept.")

        @OptionGroup var options: ConfigOptions

        func run() throws {
            let config = try options.load()
            guard !config.subscriptions.isEmpty else {
                print("no subscriptions configured ([blocking] subscriptions in the config file, or hush lists add)")
                return
            }
            var failures = 0
            for subscription in config.subscriptions where !fetch(subscription, config) { failures += 1 }
            print(RunningServer.reload(stateDirectory: config.stateDirectory))
            if failures > 0 { throw ExitCode(1) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every list that would be loaded: vendor, category, rules, and where it came from.")

        @OptionGroup var options: ConfigOptions

        func run() throws {
            let config = try options.load()
            let (_, report) = ListLoader.load(BundledLists.sources(for: config))
            let updater = ListUpdater(directory: config.subscriptionDirectory)
            func column(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count + 1), withPad: " ", startingAt: 0) }
            print(column("LIST", 28) + column("VENDOR", 22) + column("CATEGORY", 22) + column("RULES", 10) + column("PATTERNS", 9) + "SOURCE")
            var perVendor: [String: Int] = [:]
            for entry in report.entries {
                let info = entry.info
                let rules = info.purpose == .allow ? entry.allowRules : entry.blockRules
                var source = info.source
                if let fetched = updater.lastFetched(url: info.source) {
                    source += " (fetched \(ISO8601DateFormatter().string(from: fetched)))"
                }
                print(column(info.label, 28) + column(info.vendor, 22) + column(info.category, 22)
                      + column(info.purpose == .allow ? "\(rules) allow" : "\(rules)", 10) + column("\(entry.patterns)", 9) + source)
                if info.purpose == .block { perVendor[info.vendor.isEmpty ? "(none)" : info.vendor, default: 0] += rules }
            }
            print("\nblock rules per vendor: " + perVendor.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            if config.bundledLists, let directory = BundledLists.directory(configured: config.bundledListsDirectory) {
                for name in BundledLists.optionalLists(in: directory) where !config.bundledOptional.contains(name) {
                    print("off by default: \(name).txt (turn on with [blocking] bundled-optional = [\"\(name)\"])")
                }
            }
            for path in report.unreadable { print("unreadable: \(path)") }
            for problem in report.problems { print("skipped line: \(problem)") }
            for subscription in config.subscriptions where !FileManager.default.fileExists(atPath: subscription.source(in: config.subscriptionDirectory).path) {
                print("not fetched yet: \(subscription.url) (run hush lists update)")
            }
        }
    }

    struct Catalog: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Known-good lists to subscribe to, with vendor, category, licence, size and what each is known to break.")

        @OptionGroup var options: ConfigOptions
        @Flag(name: .long, help: "Also print what each list is known to break.") var verbose = false

        func run() throws {
            let config = try options.load()
            let catalog = try loadCatalog(config)
            let subscribed = Set(config.subscriptions.map(\.url.absoluteString))
            for entry in catalog.entries {
                let mark = subscribed.contains(entry.url) ? "*" : " "
                print("\(mark) \(entry.name.padding(toLength: 30, withPad: " ", startingAt: 0)) \(entry.vendor.padding(toLength: 22, withPad: " ", startingAt: 0)) \(entry.category.padding(toLength: 22, withPad: " ", startingAt: 0)) \(entry.licence.padding(toLength: 12, withPad: " ", startingAt: 0)) \(entry.size)")
                if verbose { print("    \(entry.title)\n    \(entry.url)\n    breaks: \(entry.breaks)") }
            }
            print("\n* subscribed. Subscribe with: hush lists add NAME (or a URL). The bundled allowlist wins over every subscription.")
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Subscribe to a catalogue list or a URL: writes the config file, fetches the list and reloads the running server.")

        @OptionGroup var options: ConfigOptions
        @Argument(help: "A name from hush lists catalog, or an http(s) URL.") var list: String
        @Option(name: .long, help: "Vendor to report matches under (a URL's default: none).") var vendor: String?
        @Option(name: .long, help: "Category to report matches under (a URL's default: subscription).") var category: String?

        func run() throws {
            let path = try configPath(options)
            let config = try options.load()
            var spec: String
            if let entry = try? loadCatalog(config).entry(named: list) {
                spec = entry.subscriptionSpec
            } else if list.hasPrefix("http://") || list.hasPrefix("https://") {
                spec = list
                if let vendor { spec += " vendor=\(vendor.replacingOccurrences(of: " ", with: "_"))" }
                if let category { spec += " category=\(category)" }
            } else {
                throw ValidationError("\"\(list)\" is neither a catalogue name (hush lists catalog) nor an http(s) URL")
            }
            let subscription = try Subscription(spec: spec)
            let current = try subscriptionSpecs(path)
            guard !current.contains(where: { (try? Subscription(spec: $0))?.url == subscription.url }) else {
                print("already subscribed: \(subscription.url)")
                return
            }
            try writeSubscriptions(current + [spec], to: path)
            print("subscribed: \(subscription.url) (written to \(path))")
            let fetched = fetch(subscription, config)
            print(RunningServer.reload(stateDirectory: config.stateDirectory))
            if !fetched { throw ExitCode(1) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unsubscribe: removes the list from the config file and its downloaded copy, and reloads the running server.")

        @OptionGroup var options: ConfigOptions
        @Argument(help: "A name from hush lists catalog, or the subscribed URL.") var list: String

        func run() throws {
            let path = try configPath(options)
            let config = try options.load()
            let url = (try? loadCatalog(config).entry(named: list))?.url ?? list
            let current = try subscriptionSpecs(path)
            let kept = current.filter { (try? Subscription(spec: $0))?.url.absoluteString != url }
            guard kept.count < current.count, let removed = try? Subscription(spec: current.first { !kept.contains($0) }!) else {
                throw ValidationError("not subscribed: \(list)")
            }
            try writeSubscriptions(kept, to: path)
            let copy = removed.source(in: config.subscriptionDirectory).path
            try? FileManager.default.removeItem(atPath: copy)
            try? FileManager.default.removeItem(atPath: copy + ".meta")
            print("unsubscribed: \(removed.url)")
            print(RunningServer.reload(stateDirectory: config.stateDirectory))
        }
    }
}

/// The config file `lists add` and `remove` edit: --config, or the installed one.
private func configPath(_ options: ConfigOptions) throws -> String {
    if let path = options.config { return path }
    let installed = "/etc/hush/hush.toml"
    guard FileManager.default.fileExists(atPath: installed) else {
        throw ValidationError("no config file to write: give --config PATH (the installed one is \(installed))")
    }
    return installed
}

private func loadCatalog(_ config: HushConfig) throws -> ListCatalog {
    guard let directory = BundledLists.directory(configured: config.bundledListsDirectory) else {
        throw ValidationError("the bundled lists (and their catalog.toml) were not found: set --lists-dir")
    }
    return try ListCatalog.load(directory: directory)
}

private func subscriptionSpecs(_ path: String) throws -> [String] {
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
    let file = try ConfigFile(text: String(decoding: data, as: UTF8.self), path: path)
    switch file.entries["blocking.subscriptions"]?.value {
    case .strings(let specs)?: return specs
    case .string(let spec)?: return [spec]
    default: return []
    }
}

private func writeSubscriptions(_ specs: [String], to path: String) throws {
    let text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    let updated = try ConfigEditor.setting(text, path: path, section: "blocking", key: "subscriptions", to: specs)
    try updated.write(toFile: path, atomically: true, encoding: .utf8)
}

/// Fetches one subscription and says how it went; false when it failed or was refused.
private func fetch(_ subscription: Subscription, _ config: HushConfig) -> Bool {
    switch ListUpdater(directory: config.subscriptionDirectory).update(subscription) {
    case .updated(let rules, let previous):
        print("updated  \(subscription.url): \(rules) rules" + (previous.map { " (was \($0))" } ?? ""))
    case .notModified:
        print("current  \(subscription.url): not modified")
    case .refused(let why):
        print("refused  \(subscription.url): \(why); previous copy kept")
        return false
    case .failed(let why):
        print("failed   \(subscription.url): \(why); previous copy kept")
        return false
    }
    return true
}
