import Blocklist
import DNSWire
import Glibc
import Resolver
import Sockets

/// Answered queries on their way from the answering path to the writer, kept without reference counts:
/// each record is plain data, names and rule texts are copied into one byte buffer (a rule again only
/// when it differs from the record before's), and a list is stored once per run of records that share
/// it. A record that held the name's array and the disposition cost reference counting on both threads
/// and a free on the writer's: a third of the writer's time.
struct RecordBatch {
    /// One answered query on the queue: plain data, so appending and discarding records is copying bytes.
    /// (`AnsweredQuery` is the public form made away from the answering path; `LoggedAttempt` is the raw
    /// log's entry, with ids.)
    struct QueuedAttempt {
        var time: Double
        var client: IPAddress
        /// The name's length and bytes hashed with Swift's per-process seeded hash, made where the bytes
        /// are in cache: the writer's table looks names up by it and reads the bytes only for a new key.
        var nameHash: Int
        var nameStart: Int32
        var nameLength: Int32
        var type: UInt16
        var code: UInt8
        var list: Int32       // index in `lists`, -1: no match
        var ruleStart: Int32  // the rule's text in `text`
        var ruleLength: Int32
        var cname: Int32      // index in `cnames`, -1: none
        var ttl: UInt32       // the answer's TTL; 0 for answers Hush made

        /// Hours since 1970, as the tables count them.
        var hour: Int64 { Int64(time / 3600) }
    }

    private(set) var records: [QueuedAttempt] = []
    /// Names and rule texts, back to back.
    private(set) var text: [UInt8] = []
    private(set) var lists: [ListInfo] = []
    private(set) var cnames: [String] = []

    /// Empty, keeping the buffers, with room for at least `count` records.
    mutating func removeAll(reservingAtLeast count: Int) {
        records.removeAll(keepingCapacity: true)
        text.removeAll(keepingCapacity: true)
        lists.removeAll(keepingCapacity: true)
        cnames.removeAll(keepingCapacity: true)
        records.reserveCapacity(count)
        text.reserveCapacity(count * 40)
    }

    var count: Int { records.count }
    var isEmpty: Bool { records.isEmpty }

    mutating func append(time: Double, client: IPAddress, name: DomainName, type: UInt16, disposition: Disposition, ttl: UInt32 = 0) {
        let nameStart = Int32(truncatingIfNeeded: text.count)
        let nameHash = name.bytes.withUnsafeBytes { bytes in
            text.append(contentsOf: bytes)
            var hasher = Hasher()
            hasher.combine(bytes.count)
            hasher.combine(bytes: bytes)
            return hasher.finalize()
        }
        var record = QueuedAttempt(
            time: time, client: client, nameHash: nameHash, nameStart: nameStart, nameLength: Int32(name.bytes.count),
            type: type, code: disposition.code, list: -1, ruleStart: 0, ruleLength: 0, cname: -1, ttl: ttl)
        switch disposition {
        case .blocked(let hit):
            note(hit, in: &record)
        case .blockedByCNAME(let target, let hit):
            note(hit, in: &record)
            cnames.append(target)
            record.cname = Int32(cnames.count - 1)
        default:
            break
        }
        records.append(record)
    }

    /// What matched: the list once per run of records from the same list, the rule's text again only when
    /// it differs from the last record's. The rule is written straight from the list's bytes and taken
    /// back when it repeats, so nothing is built for it.
    private mutating func note(_ match: ListMatch, in record: inout QueuedAttempt) {
        if lists.isEmpty || !lists[lists.count - 1].isIdentical(to: match.list) { lists.append(match.list) }
        record.list = Int32(lists.count - 1)
        let start = text.count
        match.ruleText.append(to: &text)
        let length = text.count - start
        record.ruleStart = Int32(truncatingIfNeeded: start)
        record.ruleLength = Int32(length)
        if let last = records.last, last.list >= 0, length > 0, Int(last.ruleLength) == length,
           text.withUnsafeBytes({ memcmp($0.baseAddress! + Int(last.ruleStart), $0.baseAddress! + start, length) == 0 }) {
            record.ruleStart = last.ruleStart
            text.removeLast(length)
        }
    }

    mutating func append(_ record: AnsweredQuery) {
        append(time: record.time, client: record.client, name: record.domain, type: record.type, disposition: record.outcome)
    }

    /// Another batch's records after these (records that waited through a failed write, then new ones).
    mutating func append(contentsOf other: RecordBatch, limit: Int) -> (kept: Int, dropped: Int) {
        let kept = max(0, min(other.count, limit - count))
        let textOffset = Int32(truncatingIfNeeded: text.count)
        let listOffset = Int32(lists.count)
        let cnameOffset = Int32(cnames.count)
        text += other.text
        lists += other.lists
        cnames += other.cnames
        for var record in other.records.prefix(kept) {
            record.nameStart += textOffset
            record.ruleStart += textOffset
            if record.list >= 0 { record.list += listOffset }
            if record.cname >= 0 { record.cname += cnameOffset }
            records.append(record)
        }
        return (kept, other.count - kept)
    }

    func name(_ record: QueuedAttempt) -> DomainName {
        let start = Int(record.nameStart)
        return DomainName(bytes: Array(text[start..<(start + Int(record.nameLength))]))
    }

    func match(_ record: QueuedAttempt) -> ListMatch? {
        guard record.list >= 0 else { return nil }
        let start = Int(record.ruleStart)
        return ListMatch(list: lists[Int(record.list)], rule: String(decoding: text[start..<(start + Int(record.ruleLength))], as: UTF8.self))
    }

    func cname(_ record: QueuedAttempt) -> String? { record.cname >= 0 ? cnames[Int(record.cname)] : nil }
}
