import ArgumentParser
import Foundation
import HushApp
import Stats

extension Hush {
    struct Suggest: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Telemetry no list names yet, found in each device's own queries: beacons, telemetry words, names next to listed ones, names several devices ask. Strongest first.")

        @OptionGroup var options: ReportOptions
        @Option(name: .long, help: "Only names this device asked (name, MAC or address).") var device: String?
        @Option(name: .long, help: "Only suggestions scoring at least this (0-1).") var minScore = 0.0
        @Flag(name: .long, help: "Block the names given: adds them to the state directory's suggested.txt and reloads the running server.")
        var apply = false
        @Flag(name: .long, help: "Stop suggesting the names given.") var dismiss = false
        @Argument(help: "Names, with --apply or --dismiss.") var names: [String] = []

        func run() throws {
            let config = try options.config.load()
            if apply || dismiss {
                guard !names.isEmpty, !(apply && dismiss) else { throw ValidationError("give names with either --apply or --dismiss") }
                let store = try StatsStore.openForWriting(path: config.statsDatabasePath)
                let lowered = names.map { $0.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ".")) }
                if apply {
                    try SuggestedList.add(lowered, to: config.suggestedListPath)
                    try store.settle(lowered, as: .applied)
                    print("blocking \(lowered.joined(separator: ", ")) (\(config.suggestedListPath))")
                    print(RunningServer.reload(stateDirectory: config.stateDirectory))
                } else {
                    try store.settle(lowered, as: .dismissed)
                    print("no longer suggested: \(lowered.joined(separator: ", "))")
                }
                return
            }
            let found = try options.report().suggestions(try options.window(), device: device, minimumScore: minScore)
            if options.json { print(try Output.json(found)); return }
            try options.print(found, headers: ["name", "vendor", "devices", "how often", "score", "why"], rows: found.map { suggestion in
                [suggestion.name, suggestion.vendor ?? "", suggestion.devices.joined(separator: ", "), Self.howOften(suggestion),
                 String(format: "%.2f", suggestion.score), Self.why(suggestion)]
            })
            if found.isEmpty, !options.csv { print("nothing to suggest yet (it takes a few repeats of a name)") }
        }

        /// "every 5 min, 212× since 09:14"
        static func howOften(_ suggestion: StatsReport.Suggestion) -> String {
            let since = "\(suggestion.count)× since \(Output.time(suggestion.firstSeen))"
            guard let interval = suggestion.intervalSeconds else { return since }
            return "every \(duration(interval)), \(since)"
        }

        static func duration(_ seconds: Double) -> String {
            if seconds < 90 { return "\(Int(seconds.rounded())) s" }
            if seconds < 5400 { return "\(Int((seconds / 60).rounded())) min" }
            return "\(Int((seconds / 3600).rounded())) h"
        }

        static func why(_ suggestion: StatsReport.Suggestion) -> String {
            suggestion.reasons.map { reason in
                switch reason {
                case "beacon": "asked at a steady interval"
                case "keyword": "named for telemetry (\(suggestion.words.joined(separator: ", ")))"
                case "family": "next to listed \(suggestion.vendor ?? "vendor") hosts"
                case "spread": "asked by \(suggestion.devices.count) devices"
                default: reason
                }
            }.joined(separator: "; ")
        }
    }
}

/// The local list `hush suggest --apply` writes in the state directory, loaded like any list.
enum SuggestedList {
    static let header = """
        # Name: Suggested by Hush
        # Category: suggested
        # Vendor: Suggested by Hush
        # Description: names `hush suggest --apply` blocked; edit or delete freely

        """

    static func add(_ names: [String], to path: String) throws {
        let existing = (try? String(contentsOfFile: path, encoding: .utf8)) ?? header
        let listed = Set(existing.split(separator: "\n").map(String.init))
        let added = names.filter { !listed.contains($0) }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try (existing + added.map { $0 + "\n" }.joined()).write(toFile: path, atomically: true, encoding: .utf8)
    }
}
