import ArgumentParser
import Foundation
import HushApp
import Stats

extension Hush {
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show recorded attempts; --follow shows them live. With the default privacy setting only blocked attempts are recorded in full.")

        @OptionGroup var options: ConfigOptions
        @Flag(name: .shortAndLong, help: "Keep printing new attempts as they are recorded.") var follow = false
        @Option(name: .long, help: "Only this device (name, MAC or address as shown).") var device: String?
        @Flag(name: .long, help: "Only blocked attempts.") var blocked = false
        @Flag(name: .long, help: "Only allowed queries.") var allowed = false
        @Option(name: .long, help: "Without --follow: how many of the latest to show.") var last = 50
        @Flag(name: .long, help: "One JSON object per line.") var json = false
        /// Names `hush suggest` currently suggests, marked in the output.
        var suggested: Set<String> = []

        enum CodingKeys: CodingKey { case options, follow, device, blocked, allowed, last, json }

        mutating func run() throws {
            let settings = try options.load()
            let report = StatsReport(store: try StatsStore.openForReading(path: settings.statsDatabasePath))
            suggested = (try? report.suggestedNames()) ?? []
            var after = follow ? try report.lastLogID() : try report.logID(back: last * 20)
            var shown: [StatsReport.LogEntry] = []
            repeat {
                let entries = try report.log(after: after)
                after = entries.last?.id ?? after
                let matching = entries.filter(keep)
                if follow {
                    for entry in matching { try show(entry) }
                    fflush(nil)   // all streams; stdout itself is not concurrency-safe to name
                    if entries.isEmpty { usleep(500_000) }
                } else {
                    shown = Array((shown + matching).suffix(last))
                    if entries.isEmpty { break }
                }
            } while true
            for entry in shown { try show(entry) }
        }

        func keep(_ entry: StatsReport.LogEntry) -> Bool {
            let isBlocked = entry.disposition.hasPrefix("blocked")
            if blocked && !isBlocked { return false }
            if allowed && isBlocked { return false }
            if let device, entry.device.lowercased() != device.lowercased(), entry.client != device { return false }
            return true
        }

        func show(_ entry: StatsReport.LogEntry) throws {
            if json {
                let encoder = JSONEncoder()
                encoder.keyEncodingStrategy = .convertToSnakeCase
                encoder.dateEncodingStrategy = .iso8601
                encoder.outputFormatting = [.sortedKeys]
                var line = String(decoding: try encoder.encode(entry), as: UTF8.self)
                if suggested.contains(entry.name) { line = String(line.dropLast()) + ",\"suggested\":true}" }
                print(line)
                return
            }
            let detail = [entry.vendor, entry.list.map { "\($0): \(entry.rule ?? "")" }, entry.cname.map { "via \($0)" }]
                .compactMap { $0 }.joined(separator: "  ")
            let mark = suggested.contains(entry.name) ? "  [suggested: hush suggest]" : ""
            print("\(Output.time(entry.time))  \(entry.device)  \(entry.name)  \(entry.disposition)  \(detail)\(mark)")
        }
    }
}
