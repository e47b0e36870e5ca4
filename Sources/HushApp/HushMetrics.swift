import Blocklist
import Foundation
import Prometheus
import Resolver
import Stats
import Synchronization

/// Prometheus metrics, read from the one disposition value every answer carries. Counters are made once
/// per label set and cached, so observing is a lookup and an atomic add.
public final class HushMetrics: AnswerObserver {
    public let registry = PrometheusCollectorRegistry()
    private let byDisposition = Mutex<[String: Counter]>([:])
    private let byVendor = Mutex<[String: Counter]>([:])
    private let latency: ValueHistogram
    private let listRules = Mutex<[String: Gauge]>([:])
    private let listsUpdated: Gauge
    private let cacheEntries: Gauge
    private let cacheBytes: Gauge
    private let statsDropped: Gauge
    /// Queries by how they came: plain UDP or TCP, or encrypted (DoT, DoH): which devices have upgraded.
    private let byTransport: [Counter]
    private static let transports: [Request.Transport] = [.udp, .tcp, .tls, .https]

    public init() {
        latency = registry.makeValueHistogram(
            name: "hush_upstream_latency_seconds", buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5])
        listsUpdated = registry.makeGauge(name: "hush_lists_loaded_timestamp_seconds")
        cacheEntries = registry.makeGauge(name: "hush_cache_entries")
        cacheBytes = registry.makeGauge(name: "hush_cache_bytes")
        statsDropped = registry.makeGauge(name: "hush_stats_dropped_records")
        byTransport = Self.transports.map { [registry] in
            registry.makeCounter(name: "hush_queries_by_transport_total", labels: [("transport", $0.rawValue)])
        }
        for label in Disposition.labels {
            _ = counter(for: label)
        }
    }

    private func counter(for disposition: String) -> Counter {
        byDisposition.withLock { counters in
            if let counter = counters[disposition] { return counter }
            let counter = registry.makeCounter(name: "hush_queries_total", labels: [("disposition", disposition)])
            counters[disposition] = counter
            return counter
        }
    }

    public func observe(_ request: Request, _ answer: Answer) {
        counter(for: answer.disposition.label).increment()
        byTransport[Self.transports.firstIndex(of: request.transport) ?? 0].increment()
        if case .forwarded(_, let seconds) = answer.disposition { latency.record(seconds) }
        if let match = answer.disposition.listMatch {
            let vendor = match.list.vendor.isEmpty ? "(none)" : match.list.vendor
            let key = vendor + "\u{0}" + match.list.category
            byVendor.withLock { counters in
                if let counter = counters[key] { return counter }
                let counter = registry.makeCounter(name: "hush_blocked_total", labels: [("vendor", vendor), ("category", match.list.category)])
                counters[key] = counter
                return counter
            }.increment()
        }
    }

    /// Records the lists just loaded: rules per list and when.
    public func listsLoaded(_ report: LoadReport) {
        listsUpdated.set(Date().timeIntervalSince1970)
        listRules.withLock { gauges in
            for entry in report.entries {
                let gauge = gauges[entry.info.label] ?? registry.makeGauge(name: "hush_list_rules", labels: [("list", entry.info.label)])
                gauges[entry.info.label] = gauge
                gauge.set(Double(entry.blockRules + entry.allowRules))
            }
        }
    }

    /// The exposition text, with the gauges that are read at scrape time brought up to date first.
    public func render(cache: AnswerCache.Statistics, statsDropped dropped: Int) -> [UInt8] {
        cacheEntries.set(Double(cache.entries))
        cacheBytes.set(Double(cache.bytes))
        statsDropped.set(Double(dropped))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
