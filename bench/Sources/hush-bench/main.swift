// Micro-benchmarks for the hot paths, run in release builds: swift run -c release hush-bench lists FILE | wire
import Blocklist
import DNSWire
import Foundation
import Resolver
import Sockets
import Stats

func residentBytes() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
}

func nanoseconds(_ iterations: Int, _ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / Double(iterations)
}

@inline(never) func consume<T>(_ value: T) { withExtendedLifetime(value) {} }

func benchLists(_ path: String) {
    let before = residentBytes()
    let (lists, report) = ListLoader.load([ListSource(path: path, purpose: .block)])
    let after = residentBytes()
    print("load: \(lists.block.count) names in \(String(format: "%.3f", report.seconds)) s, \(report.problems.count + report.moreProblems) lines skipped")
    print("memory: set \(lists.block.memoryFootprint / 1_048_576) MiB, process resident +\((after - before) / 1_048_576) MiB")
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    // Every 10th listed name, visited 7,919 (a prime) apart: a fixed permutation, the same every run, so
    // neither the slots nor the arena are read in sequence.
    let lines = text.split(separator: "\n")
    let picked = stride(from: 0, to: lines.count, by: 10).map { lines[$0] }
    let names = picked.indices.map { Array("deep.sub.\(picked[$0 &* 7_919 % picked.count])".utf8) }
    let misses = names.map { Array("nolist-\(String(decoding: $0, as: UTF8.self)).example".utf8) }
    var found = 0
    let hit = nanoseconds(names.count) {
        for name in names where lists.block.match(name) != nil { found += 1 }
    }
    let verdict = nanoseconds(misses.count) {
        for name in misses { consume(lists.verdict(for: name)) }
    }
    print("lookup: \(String(format: "%.0f", hit)) ns per hit (subdomain of a listed name, \(found) found), \(String(format: "%.0f", verdict)) ns per miss")
    // The server's way: a batch of 32 names (one recvmmsg) prefetched, then looked up.
    for (label, steps) in [("none", []), ("filter, slots", [DomainSet.PrefetchStep.filter, .slots])] {
        var batchFound = 0
        let batched = nanoseconds(names.count) {
            var start = 0
            while start < names.count {
                let batch = names[start..<min(start + 32, names.count)]
                for step in steps { for name in batch { name.withUnsafeBufferPointer { lists.block.prefetch($0, step) } } }
                for name in batch where lists.block.match(name) != nil { batchFound += 1 }
                start += 32
            }
        }
        print("batched, prefetching \(label): \(String(format: "%.0f", batched)) ns per hit (\(batchFound) found)")
    }
}

func benchWire() {
    let packet = DNSTestPacket.query
    let iterations = 1_000_000
    var accepted = 0
    let parse = nanoseconds(iterations) {
        packet.withUnsafeBufferPointer { buffer in
            for _ in 0..<iterations { if case .query = QueryParser.parse(buffer) { accepted += 1 } }
        }
    }
    guard case .query(let query) = QueryParser.parse(packet) else { return }
    let answer = SynthesizedAnswer(
        rcode: .noError, records: [SynthesizedRecord(type: .a, ttl: 300, rdata: [0, 0, 0, 0])],
        extendedError: ExtendedError(code: 15, text: "blocked by xiaomi.txt"))
    let write = nanoseconds(iterations) {
        for _ in 0..<iterations { consume(ReplyWriter.synthesized(answer, for: query, limit: 1232)) }
    }
    let ldnsIterations = 200_000
    let ldns = nanoseconds(ldnsIterations) {
        for _ in 0..<ldnsIterations { consume(try? LDNSMessage(wire: packet)) }
    }
    print("fast parser: \(String(format: "%.0f", parse)) ns per query (\(accepted) parsed); ldns parse: \(String(format: "%.0f", ldns)) ns")
    print("reply writer (blocked A with EDE): \(String(format: "%.0f", write)) ns")
}

enum DNSTestPacket {
    /// sa.api.intl.miui.com A with EDNS.
    static let query: [UInt8] = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1]
        + [2, 115, 97, 3, 97, 112, 105, 4, 105, 110, 116, 108, 4, 109, 105, 117, 105, 3, 99, 111, 109, 0, 0, 1, 0, 1]
        + [0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0]
}

/// Fills a stats database with COUNT attempts through the real writer (20 devices, 5,000 names, 30 days),
/// then times the reports `hush stats` runs.
func benchStats(_ path: String, _ count: Int) throws {
    try? FileManager.default.removeItem(atPath: path)
    let store = try StatsStore.openForWriting(path: path)
    var settings = StatsSettings(path: path)
    settings.privacy = .all
    settings.queueCapacity = 100_000
    settings.retentionDays = 3650
    let writer = StatsWriter(settings: settings, store: store, devices: DeviceDirectory(sources: .init()), logger: .init(label: "bench"))
    var random = SystemRandomNumberGenerator()
    let now = Date().timeIntervalSince1970
    let lists = (0..<5_000).map { ListMatch(list: ListInfo(source: "vendor\($0 % 12).txt", vendor: "Vendor \($0 % 12)"), rule: "t\($0).example") }
    let devices = (0..<20).map { IPAddress("192.168.1.\(10 + $0)")! }
    let started = Date()
    var written = 0
    while written < count {
        let batch = (0..<min(50_000, count - written)).map { i -> AnsweredQuery in
            let index = Int.random(in: 0..<5_000, using: &random)
            let time = now - Double(count - written - i) * (30 * 86_400) / Double(count)
            let disposition: Disposition = index % 5 == 0 ? .blocked(lists[index]) : .forwarded(upstream: "1.1.1.1:53", latency: 0.01)
            return AnsweredQuery(time: time, client: devices[index % 20], name: "t\(index).example", type: 1, disposition: disposition)
        }
        writer.recorder.enqueue(batch)
        writer.flush()
        written += batch.count
    }
    let seconds = Date().timeIntervalSince(started)
    print("stats writer: \(count) attempts in \(String(format: "%.1f", seconds)) s (\(Int(Double(count) / seconds)) records/s, privacy all)")
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    print("database: \(size / 1_048_576) MiB")
    let report = StatsReport(store: try StatsStore.openForReading(path: path))
    for (label, window) in [("24h", "24h"), ("7d", "7d"), ("30d", "30d")] {
        let begin = Date()
        let rows = try report.devices(StatsWindow.since(window)!)
        let summaryBegin = Date()
        _ = try report.summary(StatsWindow.since(window)!)
        print("hush stats devices --since \(label): \(rows.count) devices in \(String(format: "%.3f", summaryBegin.timeIntervalSince(begin))) s; summary \(String(format: "%.3f", Date().timeIntervalSince(summaryBegin))) s")
    }
}

/// What recording costs per query, without the network: the answering thread's `observe` and the writer's
/// share, for blocked answers from one device over 10,000 names, flushed every 50,000 records (half a second
/// at 100k queries a second) with per-name totals written every 20th flush, as under load.
func benchRecording(_ path: String) throws {
    try? FileManager.default.removeItem(atPath: path)
    var settings = StatsSettings(path: path)
    settings.privacy = .all
    let writer = StatsWriter(settings: settings, store: try StatsStore.openForWriting(path: path),
                             devices: DeviceDirectory(sources: .init()), logger: .init(label: "bench"))
    let list = ListInfo(source: "xiaomi.txt", name: "Xiaomi telemetry", category: "vendor-telemetry", vendor: "Xiaomi")
    let requests = (0..<10_000).map { i -> Request in
        let labels = "d\(i).tracking.intl.miui.com".split(separator: ".")
        let packet: [UInt8] = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]
            + labels.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0, 0, 1, 0, 1]
        guard case .query(let query) = QueryParser.parse(packet) else { fatalError("bench packet did not parse") }
        return Request(query: query, client: IPAddress("192.168.1.20")!, transport: .udp)
    }
    // Like the blocking stage: a new rule string per answer, the list's shared description.
    let answers = (0..<10_000).map { _ in
        Answer(.silence, .blocked(ListMatch(list: list, rule: String("tracking.intl.miui.com".utf8.map { Character(UnicodeScalar($0)) }))))
    }
    writer.flush()
    var observing = 0.0, writing = 0.0
    let perFlush = 50_000, flushes = 40
    for flush in 0..<flushes {
        observing += nanoseconds(1) {
            for i in 0..<perFlush { writer.recorder.observe(requests[i % requests.count], answers[i % answers.count]) }
        }
        writing += nanoseconds(1) { writer.flush(forceAggregates: flush % 20 == 19) }
    }
    let records = Double(perFlush * flushes)
    print("recording: observe \(String(format: "%.0f", observing / records)) ns per query on the answering thread, "
          + "writer \(String(format: "%.0f", writing / records)) ns per query, "
          + "\(String(format: "%.0f", (observing + writing) / records)) ns in all")
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "lists" where arguments.count == 2: benchLists(arguments.last!)
case "wire": benchWire()
case "recording" where arguments.count == 2: try benchRecording(arguments.last!)
case "stats" where arguments.count == 3: try benchStats(Array(arguments)[1], Int(Array(arguments)[2]) ?? 1_000_000)
default:
    print("usage: hush-bench lists FILE | wire | recording DATABASE | stats DATABASE COUNT")
    exit(2)
}
