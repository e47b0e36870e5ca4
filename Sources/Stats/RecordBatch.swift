import Blocklist
import DNSWire
import Resolver
import Sockets

/// Answered queries on their way from the answering path to the writer, kept without reference counts:
/// each record is plain data, names are copied into one byte buffer, and what matched is stored once per
/// run of records that share it. A record that held the name's array and the disposition cost reference
/// counting on both threads and a free on the writer's: a third of the writer's time.
struct RecordBatch {
    /// One answered query. Trivial, so appending and discarding records is copying bytes.
    struct Record {
        var time: Double
        var client: IPAddress
        /// The name's length and bytes hashed with Swift's per-process seeded hash, made where the bytes
        /// are in cache: the writer's table looks names up by it and reads the bytes only for a new key.
        var nameHash: Int
        var nameStart: Int32
        var nameLength: Int32
        var type: UInt16
        var code: UInt8
        var blocked: Bool
        var match: Int32      // index in `matches`, -1: none
        var cname: Int32      // index in `cnames`, -1: none
    }

    private(set) var records: [Record] = []
    private(set) var names: [UInt8] = []
    private(set) var matches: [ListMatch] = []
    private(set) var cnames: [String] = []

    init(reserving count: Int = 0) {
        records.reserveCapacity(count)
        names.reserveCapacity(count * 32)
    }

    /// Empty, keeping the buffers, with room for at least `count` records.
    mutating func removeAll(reservingAtLeast count: Int) {
        records.removeAll(keepingCapacity: true)
        names.removeAll(keepingCapacity: true)
        matches.removeAll(keepingCapacity: true)
        cnames.removeAll(keepingCapacity: true)
        records.reserveCapacity(count)
        names.reserveCapacity(count * 32)
    }

    var count: Int { records.count }
    var isEmpty: Bool { records.isEmpty }

    mutating func append(time: Double, client: IPAddress, name: DomainName, type: UInt16, disposition: Disposition) {
        let nameStart = Int32(truncatingIfNeeded: names.count)
        let nameHash = name.bytes.withUnsafeBytes { bytes in
            names.append(contentsOf: bytes)
            var hasher = Hasher()
            hasher.combine(bytes.count)
            hasher.combine(bytes: bytes)
            return hasher.finalize()
        }
        var match: Int32 = -1
        var cname: Int32 = -1
        switch disposition {
        case .blocked(let hit):
            match = index(of: hit)
        case .blockedByCNAME(let target, let hit):
            match = index(of: hit)
            cnames.append(target)
            cname = Int32(cnames.count - 1)
        default:
            break
        }
        records.append(Record(
            time: time, client: client, nameHash: nameHash, nameStart: nameStart, nameLength: Int32(name.bytes.count),
            type: type, code: disposition.code, blocked: disposition.isBlocked, match: match, cname: cname))
    }

    /// Consecutive blocked answers mostly come from the same rule: it is stored again only when it changes.
    private mutating func index(of match: ListMatch) -> Int32 {
        if let last = matches.last, last == match { return Int32(matches.count - 1) }
        matches.append(match)
        return Int32(matches.count - 1)
    }

    mutating func append(_ record: AttemptRecord) {
        append(time: record.time, client: record.client, name: record.domain, type: record.type, disposition: record.outcome)
    }

    /// Another batch's records after these (records that waited through a failed write, then new ones).
    mutating func append(contentsOf other: RecordBatch, limit: Int) -> (kept: Int, dropped: Int) {
        let kept = max(0, min(other.count, limit - count))
        let nameOffset = Int32(truncatingIfNeeded: names.count)
        let matchOffset = Int32(matches.count)
        let cnameOffset = Int32(cnames.count)
        names += other.names
        matches += other.matches
        cnames += other.cnames
        for var record in other.records.prefix(kept) {
            record.nameStart += nameOffset
            if record.match >= 0 { record.match += matchOffset }
            if record.cname >= 0 { record.cname += cnameOffset }
            records.append(record)
        }
        return (kept, other.count - kept)
    }

    func name(_ record: Record) -> DomainName {
        let start = Int(record.nameStart)
        return DomainName(bytes: Array(names[start..<(start + Int(record.nameLength))]))
    }

    func match(_ record: Record) -> ListMatch? { record.match >= 0 ? matches[Int(record.match)] : nil }
    func cname(_ record: Record) -> String? { record.cname >= 0 ? cnames[Int(record.cname)] : nil }
}
