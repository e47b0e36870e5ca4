import Resolver
import Sockets

/// One raw attempt as the log keeps it, with names, rule and device as ids. A flush's attempts are packed
/// into one `attempt_batches` row (see `AttemptEncoder`), so the raw log costs a few bytes appended per query
/// instead of a SQLite row.
struct LoggedAttempt: Equatable {
    var time: Double      // kept to the millisecond
    var device: Int64
    var name: Int64
    var cname: Int64      // 0: none
    var rule: Int64       // 0: none
    var type: UInt16
    var disposition: UInt8
    var client: IPAddress

    /// Entries per batch row; an entry's id in `hush log` is the batch id shifted left by 16 plus its index.
    static let perBatch = 65_536

    var label: String { Disposition.label(code: disposition) }
}

/// The packed form: per entry a header byte (outcome in the low 4 bits; flags for what follows), the time
/// as a zigzag varint of milliseconds since the previous entry, device and name ids as varints, then only
/// when present the rule, the CNAME, a type other than A, and the client when it differs from the previous
/// entry's. A blocked query from a known device takes about 8 bytes; a fixed 44-byte form
/// would make the WAL writes and checkpoints a third of the writer's time.
struct AttemptEncoder {
    private var previousMilliseconds: Int64 = 0
    private var previousClient: IPAddress?

    private static let clientFollows: UInt8 = 0x10
    private static let cnameFollows: UInt8 = 0x20
    private static let ruleFollows: UInt8 = 0x40
    private static let typeFollows: UInt8 = 0x80

    mutating func append(_ entry: LoggedAttempt, count: Int? = nil, to bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 80) { buffer in
            var end = 0
            func put(_ byte: UInt8) {
                buffer[end] = byte
                end += 1
            }
            func varint(_ value: UInt64) {
                var value = value
                while value >= 0x80 {
                    put(UInt8(truncatingIfNeeded: value) | 0x80)
                    value >>= 7
                }
                put(UInt8(value))
            }
            let milliseconds = Int64((entry.time * 1000).rounded())
            let delta = milliseconds &- previousMilliseconds
            previousMilliseconds = milliseconds
            var header = entry.disposition & 0x0F
            if entry.client != previousClient { header |= Self.clientFollows }
            if entry.cname > 0 { header |= Self.cnameFollows }
            if entry.rule > 0 { header |= Self.ruleFollows }
            if entry.type != 1 { header |= Self.typeFollows }
            put(header)
            varint(UInt64(bitPattern: (delta << 1) ^ (delta >> 63)))
            varint(UInt64(max(entry.device, 0)))
            varint(UInt64(max(entry.name, 0)))
            if entry.rule > 0 { varint(UInt64(entry.rule)) }
            if entry.cname > 0 { varint(UInt64(entry.cname)) }
            if entry.type != 1 { varint(UInt64(entry.type)) }
            if header & Self.clientFollows != 0 {
                previousClient = entry.client
                switch entry.client {
                case .v4(let address):
                    put(4)
                    for shift in stride(from: 24, through: 0, by: -8) { put(UInt8(truncatingIfNeeded: address >> UInt32(shift))) }
                case .v6(let high, let low):
                    put(6)
                    for half in [high, low] {
                        for shift in stride(from: 56, through: 0, by: -8) { put(UInt8(truncatingIfNeeded: half >> UInt64(shift))) }
                    }
                }
            }
            if let count { varint(UInt64(max(count, 0))) }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<end]))
        }
    }
}

/// Reads what `AttemptEncoder` wrote. Stops at the first entry that does not fit (a damaged row).
struct AttemptDecoder {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0
    private var previousMilliseconds: Int64 = 0
    private var previousClient = IPAddress.v4(0)

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    private mutating func byte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func varint() -> UInt64? {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            guard let byte = byte() else { return nil }
            value |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte < 0x80 { return value }
        }
        return nil
    }

    private mutating func bigEndian(_ count: Int) -> UInt64? {
        var value: UInt64 = 0
        for _ in 0..<count {
            guard let byte = byte() else { return nil }
            value = value << 8 | UInt64(byte)
        }
        return value
    }

    /// The next entry, and its count when the row was written with counts (the overflow list).
    mutating func next(withCount: Bool = false) -> (entry: LoggedAttempt, count: Int)? {
        guard let header = byte(), let zigzag = varint(), let device = varint(), let name = varint() else { return nil }
        let rule = header & 0x40 != 0 ? varint() : 0
        let cname = header & 0x20 != 0 ? varint() : 0
        let type = header & 0x80 != 0 ? varint() : 1
        guard let rule, let cname, let type else { return nil }
        if header & 0x10 != 0 {
            switch byte() {
            case 4:
                guard let address = bigEndian(4) else { return nil }
                previousClient = .v4(UInt32(address))
            case 6:
                guard let high = bigEndian(8), let low = bigEndian(8) else { return nil }
                previousClient = .v6(high, low)
            default:
                return nil
            }
        }
        let count = withCount ? varint() : 1
        guard let count else { return nil }
        let delta = Int64(bitPattern: (zigzag >> 1) ^ (0 &- (zigzag & 1)))
        previousMilliseconds &+= delta
        let entry = LoggedAttempt(
            time: Double(previousMilliseconds) / 1000, device: Int64(clamping: device), name: Int64(clamping: name),
            cname: Int64(clamping: cname), rule: Int64(clamping: rule), type: UInt16(truncatingIfNeeded: type),
            disposition: header & 0x0F, client: previousClient)
        return (entry, Int(clamping: count))
    }
}
