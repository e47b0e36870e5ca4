import Foundation

/// The time span a report covers: `--since 24h` or `--from`/`--to`.
public struct StatsWindow: Sendable, Equatable {
    public var from: Date
    public var to: Date

    public init(from: Date, to: Date) {
        self.from = from
        self.to = to
    }

    var firstHour: Int64 { Int64(from.timeIntervalSince1970 / 3600) }
    var lastHour: Int64 { Int64(to.timeIntervalSince1970 / 3600) }

    /// "90s", "30m", "24h", "7d", "2w".
    public static func since(_ text: String, now: Date = Date()) -> StatsWindow? {
        guard let unit = text.last, let amount = Double(text.dropLast()), amount >= 0 else { return nil }
        let seconds: Double
        switch unit {
        case "s": seconds = amount
        case "m": seconds = amount * 60
        case "h": seconds = amount * 3600
        case "d": seconds = amount * 86_400
        case "w": seconds = amount * 604_800
        default: return nil
        }
        return StatsWindow(from: now.addingTimeInterval(-seconds), to: now)
    }

    /// "2026-11-20", "2026-11-20T18:30", "2026-11-20T18:30:00Z" (local time unless a zone is given).
    public static func date(_ text: String) -> Date? {
        let formats = ["yyyy-MM-dd'T'HH:mm:ssXXXXX", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"]
        for format in formats {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}
