import ArgumentParser
import Blocklist
import Foundation
import HushApp

extension Hush {
    struct Lists: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch subscribed lists and show the lists in force.",
            subcommands: [Update.self, Show.self])
    }
}

extension Hush.Lists {
    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download the subscribed lists into the state directory. A failed, empty or much smaller download is refused and the previous copy kept. Send SIGHUP (systemctl reload hush) afterwards, or let the running server's schedule pick them up.")

        @OptionGroup var options: ConfigOptions

        func run() throws {
            let config = try options.load()
            guard !config.subscriptions.isEmpty else {
                print("no subscriptions configured ([blocking] subscriptions in the config file)")
                return
            }
            let updater = ListUpdater(directory: config.subscriptionDirectory)
            var failures = 0
            for subscription in config.subscriptions {
                let outcome = updater.update(subscription)
                switch outcome {
                case .updated(let rules, let previous):
                    print("updated  \(subscription.url): \(rules) rules" + (previous.map { " (was \($0))" } ?? ""))
                case .notModified:
                    print("current  \(subscription.url): not modified")
                case .refused(let why):
                    failures += 1
                    print("refused  \(subscription.url): \(why); previous copy kept")
                case .failed(let why):
                    failures += 1
                    print("failed   \(subscription.url): \(why); previous copy kept")
                }
            }
            if failures > 0 { throw ExitCode(1) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every list that would be loaded, with its vendor, category and rule count.")

        @OptionGroup var options: ConfigOptions

        func run() throws {
            let config = try options.load()
            let (_, report) = ListLoader.load(BundledLists.sources(for: config))
            for entry in report.entries {
                let info = entry.info
                let count = info.purpose == .allow ? "\(entry.allowRules) allowed" : "\(entry.blockRules) blocked"
                print("\(info.label.padding(toLength: 28, withPad: " ", startingAt: 0)) \(info.vendor.padding(toLength: 22, withPad: " ", startingAt: 0)) \(info.category.padding(toLength: 22, withPad: " ", startingAt: 0)) \(count)")
            }
            for path in report.unreadable { print("unreadable: \(path)") }
            for problem in report.problems { print("skipped line: \(problem)") }
            for subscription in config.subscriptions where !FileManager.default.fileExists(atPath: subscription.source(in: config.subscriptionDirectory).path) {
                print("not fetched yet: \(subscription.url) (run hush lists update)")
            }
        }
    }
}
