import Foundation
import GRDB
import Logging
import Resolver
import Sockets
import Blocklist

/// The one writer: every `flushMilliseconds` it takes what the recorder queued and commits it in one
/// transaction, so records reach the file within about a second and a SIGKILL loses at most that much.
/// A failed write (disk full, read-only, file removed) is logged once; the records wait, within the
/// queue's bound, and recording resumes when the fault clears.
public final class StatsWriter: @unchecked Sendable {
    public let settings: StatsSettings
    public let recorder: StatsRecorder
    /// nil while the database cannot be opened (a read-only or missing directory): records wait in memory
    /// and every flush tries again.
    private(set) var store: StatsStore?
    public let path: String
    let devices: DeviceDirectory
    let logger: Logger
    private let lock = NSLock()
    private var stopped = false
    private var thread: Thread?
    private var waiting = RecordBatch()
    /// Last flush's records, emptied: the recorder's next queue (see `StatsRecorder.take`).
    private var spare = RecordBatch()
    private var unrecordedDrops = 0
    private var totalDropped = 0
    /// Per (hour, device, name, outcome): ids, the storm cap's count, what is not written yet.
    private var table = NameHourTable()
    private var tableHour: Int64 = 0
    /// Starts at creation, so a fresh start under load does not write every new name's total at once.
    private var lastAggregated = Date().timeIntervalSince1970
    private var raw = PackedBatch()
    /// Raw batches may hold attempts the per-name totals lack (deferred, then a crash, a failure or a reset).
    private var needsCatchUp = true
    private var ids = KnownIDs()
    private var failing: String?
    private var failedFlushes = 0
    private var refreshDevices = false
    private var newDeviceSources: DeviceDirectory.Sources?
    private var lastRetention: Double = 0
    /// Finds telemetry no list names yet; nil under privacy `none` or when turned off.
    private var discovery: Discovery?
    private var lastSettledRead: Double = 0

    public init(settings: StatsSettings, store: StatsStore?, devices: DeviceDirectory, logger: Logger) {
        self.settings = settings
        self.recorder = StatsRecorder(capacity: settings.queueCapacity)
        self.store = store
        self.path = store?.path ?? settings.path
        // The service has already said why it could not open the file; the first failed flush need not.
        if store == nil { failing = "the database could not be opened" }
        self.devices = devices
        self.logger = logger
        if settings.discovery, settings.privacy != .none { discovery = Discovery(capacity: settings.discoveryPairs) }
    }

    /// The lists' families, for discovery (after every list load).
    public func updateFamilies(_ families: NameFamilies) {
        lock.lock()
        discovery?.update(families: families)
        lock.unlock()
    }

    /// Feeds the allowed queries of a batch to discovery: answered by an upstream, the cache or a stale entry.
    private func discover(_ records: RecordBatch) {
        guard discovery != nil else { return }
        let answered = Disposition.answeredCodes
        for record in records.records where answered.contains(record.code) {
            if discovery!.observe(address: record.client, nameHash: record.nameHash, time: record.time,
                                  ttl: record.ttl > 0 ? Double(record.ttl) : nil) {
                discovery!.name(record.nameHash, is: records.name(record).description)
            }
        }
    }

    /// Stores what discovery found since the last flush, and re-reads what the household settled.
    private func storeSuggestions(_ store: StatsStore, now: Double) throws {
        guard discovery != nil else { return }
        if now - lastSettledRead > 5 {
            lastSettledRead = now
            discovery!.settle(try store.settledSuggestions())
        }
        let devices = devices
        let found = discovery!.takeChanged { devices.identity(for: $0, now: now).key }
        if !found.isEmpty { try store.writeSuggestions(found) }
    }

    /// Pairs discovery holds and roughly what they take.
    public var discoveryFootprint: (pairs: Int, bytes: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (discovery?.pairCount ?? 0, discovery?.approximateBytes ?? 0)
    }

    public func start() {
        let thread = Thread { [self] in
            Self.yieldToAnswering()
            while !isStopped {
                usleep(useconds_t(settings.flushMilliseconds * 1000))
                flush(forceAggregates: false)
            }
        }
        thread.name = "hush-stats"
        self.thread = thread
        thread.start()
    }

    /// The writer's thread is marked a batch job at a lower priority: when the answering threads have every
    /// core busy, its wake-ups do not preempt them (they did, in bursts, twice a second). It still gets its
    /// few percent of a core, and all of an idle one.
    private static func yieldToAnswering() {
        ThreadPriority.lowerToBatch(nice: 5)
    }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    /// Writes what is queued now, per-name totals included. Safe to call from any thread; calls are serialised.
    public func flush() {
        flush(forceAggregates: true)
    }

    /// Per-name totals wait when many keys are pending (see `StatsSettings.aggregateKeysPerFlush`), unless forced.
    public func flush(forceAggregates: Bool) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date().timeIntervalSince1970
        if refreshDevices {
            if let sources = newDeviceSources { devices.sources = sources }
            newDeviceSources = nil
            devices.refresh(now: now)
            refreshDevices = false
        }
        let (records, dropped) = recorder.take(swapping: &spare)
        discover(records)
        totalDropped += dropped
        unrecordedDrops += dropped
        if waiting.isEmpty {
            waiting = records
        } else {
            // Records still waiting from a failed write, then these, within the queue's bound.
            unrecordedDrops += waiting.append(contentsOf: records, limit: settings.queueCapacity).dropped
        }
        // A new hour (or a storm of names) starts the table again, and retention may delete names it holds
        // ids of. Either way its pending totals are written first, rather than rebuilt from the raw log
        // afterwards: that rebuild cost half a second of CPU.
        let hour = Int64(now / 3600)
        let startAgain = hour != tableHour || table.count > KnownIDs.nameLimit
        let retentionDue = now - lastRetention > 3600
        tableHour = hour
        if startAgain || retentionDue { writePendingTotals(now: now) }
        if startAgain { table.removeAll() }
        if retentionDue {
            lastRetention = now
            ids.names.removeAll()   // retention deletes names no total refers to any more
            do { try store?.applyRetention(days: settings.retentionDays, now: now) } catch { report(error) }
        }
        let aggregateDue = forceAggregates || now - lastAggregated >= settings.aggregateSeconds
        guard !waiting.isEmpty || unrecordedDrops > 0 || store == nil || needsCatchUp || (aggregateDue && !table.pendingSlots.isEmpty) else {
            return
        }
        checkFile()
        guard let store else { return }
        do {
            if needsCatchUp {
                try store.catchUpAggregates()
                needsCatchUp = false
            }
            let devices = devices
            let keysPerFlush = settings.aggregateKeysPerFlush
            let aggregated = try store.write(
                waiting, identity: { devices.identity(for: $0, now: now) }, dropped: unrecordedDrops, privacy: settings.privacy,
                table: &table, raw: &raw, rawPerNameHour: settings.rawRowsPerNameHour, ids: &ids,
                aggregate: { aggregateDue || $0 <= keysPerFlush })
            swap(&waiting, &spare)
            try storeSuggestions(store, now: now)
            if aggregated {
                table.written()
                lastAggregated = now
            }
            unrecordedDrops = 0
            if let problem = failing {
                logger.notice("stats recording resumed after: \(problem)")
                try? store.recordFault(failures: failedFlushes, lastError: problem)
                failing = nil
                failedFlushes = 0
            }
        } catch {
            ids = KnownIDs()   // a rolled-back transaction may have created ids that are gone
            resetTable()       // its counts will be made again from the waiting records
            failedFlushes += 1
            report(error)
            if let error = error as? DatabaseError, error.resultCode == .SQLITE_CORRUPT || error.resultCode == .SQLITE_NOTADB {
                moveAside("SQLite reports it corrupt")
            }
        }
    }

    /// Writes the totals the table has not written yet (after folding in the raw log, if that is owed), so
    /// the table can be let go of without a rebuild. On failure the table is let go of anyway, and rebuilt.
    private func writePendingTotals(now: Double) {
        guard let store, needsCatchUp || !table.pendingSlots.isEmpty else { return }
        do {
            if needsCatchUp {
                try store.catchUpAggregates()
                needsCatchUp = false
            }
            try store.writeTotals(table.pending)
            table.written()
            lastAggregated = now
        } catch {
            report(error)
            resetTable()
        }
    }

    /// Forgets the table's keys and counts. What it had not written yet is in the raw batches past the
    /// watermark, and is folded into the per-name totals before the next write.
    private func resetTable() {
        table.removeAll()
        needsCatchUp = true
    }

    /// Before each write: open the database if it is not open yet, start a new one if the file was deleted
    /// or replaced, and move it aside if it was overwritten.
    private func checkFile() {
        if let store {
            if !store.fileIsInPlace {
                logger.warning("stats database \(path) is gone or was replaced; opening it again")
                open()
            } else if !store.headerIsIntact {
                moveAside("its header was overwritten")
            }
        } else {
            open()
        }
    }

    private func open() {
        store = nil
        ids = KnownIDs()
        resetTable()
        do {
            store = try StatsStore.openForWriting(path: path) { aside in
                noteCorruption("it was not a readable database", aside: aside)
            }
        } catch {
            failedFlushes += 1
            report(error)
        }
    }

    /// Closes a damaged database, keeps it as PATH.corrupt-TIME, and starts a new one; the records waiting
    /// go into the new one, and so does a note of what happened.
    private func moveAside(_ reason: String) {
        store = nil
        do {
            noteCorruption(reason, aside: try StatsStore.quarantine(path))
        } catch {
            report(error)
        }
        open()
    }

    private func noteCorruption(_ reason: String, aside: String) {
        let message = "stats database \(path) was damaged (\(reason)); kept it as \(aside) and started a new one"
        logger.error("\(message)")
        failing = message
        failedFlushes += 1
    }

    private func report(_ error: Error) {
        let message = "\(error)"
        if failing == nil {
            logger.error("stats cannot be written to \(path): \(message); DNS keeps answering, records wait in memory")
        }
        failing = message
    }

    /// Flushes what is queued and stops the writer thread. Called on SIGTERM.
    public func stop() {
        flush()
        lock.lock()
        stopped = true
        lock.unlock()
    }

    /// Takes the config's device names and lease files, and re-reads them with /etc/ethers and /etc/hosts, at
    /// the next flush (SIGHUP).
    public func refreshDevices(sources: DeviceDirectory.Sources) {
        lock.lock()
        refreshDevices = true
        newDeviceSources = sources
        lock.unlock()
    }

    /// Records dropped since start (queue full, or a long storage fault).
    public var droppedSinceStart: Int {
        lock.lock()
        defer { lock.unlock() }
        return totalDropped
    }

    /// The current problem, if writing is failing.
    public var problem: String? {
        lock.lock()
        defer { lock.unlock() }
        return failing
    }
}
