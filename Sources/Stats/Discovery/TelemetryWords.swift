/// Labels that say what a host does. A name is split into words at dots, dashes, underscores and digits
/// (`rtlog31-normal-alisg` → `rtlog`, `normal`, `alisg`), so `log` counts in `log16-normal` but not in
/// `login` or `blog`; long words also count inside a word (`googleanalytics`). Scored, not matched blindly:
/// the strongest word, a little more for a second. Words that name what a device needs (time, push,
/// updates, sign-in, connectivity checks) veto the name.
public enum TelemetryWords {
    static let weights: [String: Double] = [
        "telemetry": 1.0, "analytics": 1.0, "tracking": 0.9, "tracker": 0.9, "beacon": 0.9, "track": 0.8, "metrics": 0.8,
        "metric": 0.8, "collect": 0.8, "collector": 0.8, "datacollector": 0.9, "crash": 0.7, "crashlytics": 0.9,
        "stats": 0.7, "stat": 0.6, "statistics": 0.8, "mistat": 0.9, "log": 0.6, "logs": 0.6, "rtlog": 0.8, "applog": 0.8,
        "xlog": 0.8, "logging": 0.7, "logservice": 0.8, "report": 0.6, "reports": 0.6, "reporting": 0.6, "event": 0.5,
        "events": 0.5, "sdk": 0.4, "diag": 0.7, "diagnostic": 0.7, "diagnostics": 0.7, "pixel": 0.7, "ads": 0.4,
        "adlog": 0.8, "monitor": 0.5, "mon": 0.3, "insights": 0.5, "sentry": 0.7, "bugly": 0.8, "umeng": 0.8,
        "appsflyer": 0.8, "adjust": 0.3, "mixpanel": 0.9, "amplitude": 0.7, "segment": 0.3, "flurry": 0.8,
    ]
    /// Words long enough to count inside another word.
    static let inside = ["telemetry", "analytics", "tracking", "metrics", "collect", "beacon", "crashlytics", "statistics"]
    /// A device needs these; no amount of evidence makes them suggestions.
    static let needed: Set<String> = [
        "ntp", "time", "clock", "push", "mtalk", "update", "updates", "upgrade", "ota", "login", "signin", "auth", "oauth",
        "account", "accounts", "id", "sso", "connectivitycheck", "connectivity", "captive", "generate", "ocsp", "crl",
        "cert", "certs", "pki", "sync", "dns", "resolver", "ipv6test", "msftconnecttest", "msftncsi", "nist",
    ]

    public struct Score: Sendable, Equatable {
        public var value: Double
        public var words: [String]
    }

    static func words(of name: String) -> [String] {
        var words: [String] = []
        var current = ""
        for character in name.lowercased() {
            if character.isLetter {
                current.append(character)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// The telemetry words in `name` and their score (0 when none); nil when a word vetoes the name.
    public static func score(_ name: String) -> Score? {
        var found: [(String, Double)] = []
        for word in words(of: name) {
            if needed.contains(word) { return nil }
            if let weight = weights[word] {
                found.append((word, weight))
            } else if let long = inside.first(where: { word.contains($0) }) {
                found.append((long, weights[long] ?? 0.8))
            }
        }
        let ordered = found.sorted { $0.1 > $1.1 }
        guard let best = ordered.first else { return Score(value: 0, words: []) }
        let second = ordered.dropFirst().first.map { $0.1 * 0.25 } ?? 0
        return Score(value: min(1, best.1 + second), words: Array(Set(ordered.map(\.0))).sorted())
    }
}
