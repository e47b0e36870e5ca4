import ArgumentParser
import Foundation
import HushApp
import Stats

/// Window and format options shared by the stats commands.
struct ReportOptions: ParsableArguments {
    @OptionGroup var config: ConfigOptions

    @Option(name: .long, help: "Window ending now: 30m, 24h, 7d, 2w. Default 24h.")
    var since: String?

    @Option(name: .long, help: "Window start: 2026-11-20 or 2026-11-20T18:00 (local time).")
    var from: String?

    @Option(name: .long, help: "Window end (default now).")
    var to: String?

    @Flag(name: .long, help: "Print JSON (fields in docs/json.md).")
    var json = false

    @Flag(name: .long, help: "Print CSV.")
    var csv = false

    func window() throws -> StatsWindow {
        if from != nil || to != nil {
            guard from == nil || StatsWindow.date(from!) != nil else { throw ValidationError("--from: expected 2026-11-20 or 2026-11-20T18:00") }
            guard to == nil || StatsWindow.date(to!) != nil else { throw ValidationError("--to: expected 2026-11-20 or 2026-11-20T18:00") }
            let end = to.flatMap(StatsWindow.date) ?? Date()
            return StatsWindow(from: from.flatMap(StatsWindow.date) ?? end.addingTimeInterval(-86_400), to: end)
        }
        guard let window = StatsWindow.since(since ?? "24h") else { throw ValidationError("--since: expected a number and s, m, h, d or w, such as 24h") }
        return window
    }

    func report() throws -> StatsReport {
        let settings = try config.load()
        return StatsReport(store: try StatsStore.openForReading(path: settings.statsDatabasePath))
    }

    /// JSON, CSV, or an aligned table (with a bold header on a terminal).
    func print<T: Encodable>(_ value: T, headers: [String], rows: [[String]]) throws {
        if json {
            Swift.print(try Output.json(value))
        } else if csv {
            Swift.print(Output.csv(headers: headers, rows: rows), terminator: "")
        } else {
            Swift.print(Output.table(headers: headers, rows: rows), terminator: "")
        }
    }
}

enum Output {
    static let colour = isatty(STDOUT_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func csv(headers: [String], rows: [[String]]) -> String {
        func field(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        return ([headers] + rows).map { $0.map(field).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    static func table(headers: [String], rows: [[String]]) -> String {
        guard !rows.isEmpty else { return "(nothing in this window)\n" }
        let widths = headers.indices.map { column in
            ([headers] + rows).map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        let head = line(headers)
        return (colour ? "\u{1B}[1m\(head)\u{1B}[0m" : head) + "\n" + rows.map(line).joined(separator: "\n") + "\n"
    }

    static func time(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: date)
    }

    /// An hourly histogram: one row per hour, a bar for all queries and the blocked part of it.
    static func histogram(_ hours: [StatsReport.HourCount]) -> String {
        guard let peak = hours.map(\.queries).max(), peak > 0 else { return "" }
        let width = 40
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "MM-dd HH:00"
        return "\nattempts per hour (█ blocked, ░ allowed)\n" + hours.suffix(48).map { hour in
            let total = max(1, hour.queries * width / peak)
            let blocked = hour.queries == 0 ? 0 : min(total, (hour.blocked * total + hour.queries - 1) / hour.queries)
            let bar = (colour ? "\u{1B}[31m" : "") + String(repeating: "█", count: blocked) + (colour ? "\u{1B}[0m" : "")
                + String(repeating: "░", count: total - blocked)
            return "\(formatter.string(from: hour.hour))  \(bar) \(hour.blocked)/\(hour.queries)"
        }.joined(separator: "\n") + "\n"
    }
}
