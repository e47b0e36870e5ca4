import Foundation
import Resolver
import Sockets

/// One raw attempt as the log stores it: a fixed 44-byte little-endian record with names, rule and device
/// as ids. A flush's attempts are packed into one `attempt_batches` row, so the raw log costs a memcpy per
/// query instead of a SQLite row (the row was most of the writer's cost).
struct AttemptEntry: Equatable {
    var time: Double
    var device: Int64
    var name: Int64
    var cname: Int64      // 0: none
    var rule: Int64       // 0: none
    var type: UInt16
    var disposition: UInt8
    var client: IPAddress

    static let size = 44
    /// Entries per batch row; an entry's id in `hush log` is the batch id shifted left by 16 plus its index.
    static let perBatch = 65_536

    /// The stored labels, indexed by `Disposition.code`. Append only: codes are on disk.
    static let labels = ["forwarded", "cached", "stale", "blocked", "blocked-cname", "refused", "rate-limited", "minimal-any", "failed"]

    static func code(forLabel label: String) -> UInt8 {
        UInt8(labels.firstIndex(of: label) ?? labels.count - 1)
    }

    var label: String { Int(disposition) < Self.labels.count ? Self.labels[Int(disposition)] : "unknown" }

    /// Appends the 44 bytes in one go: small appends, each with its capacity check, were a tenth of the
    /// writer's time.
    func append(to bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(byteCount: Self.size, alignment: 8) { entry in
            entry.storeBytes(of: time.bitPattern.littleEndian, toByteOffset: 0, as: UInt64.self)
            entry.storeBytes(of: UInt32(truncatingIfNeeded: device).littleEndian, toByteOffset: 8, as: UInt32.self)
            entry.storeBytes(of: UInt32(truncatingIfNeeded: name).littleEndian, toByteOffset: 12, as: UInt32.self)
            entry.storeBytes(of: UInt32(truncatingIfNeeded: cname).littleEndian, toByteOffset: 16, as: UInt32.self)
            entry.storeBytes(of: UInt32(truncatingIfNeeded: rule).littleEndian, toByteOffset: 20, as: UInt32.self)
            entry.storeBytes(of: type.littleEndian, toByteOffset: 24, as: UInt16.self)
            entry.storeBytes(of: disposition, toByteOffset: 26, as: UInt8.self)
            switch client {
            case .v4(let address):
                entry.storeBytes(of: 4, toByteOffset: 27, as: UInt8.self)
                entry.storeBytes(of: address.bigEndian, toByteOffset: 28, as: UInt32.self)
                entry.storeBytes(of: 0, toByteOffset: 32, as: UInt32.self)
                entry.storeBytes(of: 0, toByteOffset: 36, as: UInt64.self)
            case .v6(let high, let low):
                entry.storeBytes(of: 6, toByteOffset: 27, as: UInt8.self)
                entry.storeBytes(of: high.bigEndian, toByteOffset: 28, as: UInt64.self)
                entry.storeBytes(of: low.bigEndian, toByteOffset: 36, as: UInt64.self)
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(entry))
        }
    }

    /// The entry at `index` of a packed batch; nil past its end.
    static func decode(_ bytes: UnsafeRawBufferPointer, at index: Int) -> AttemptEntry? {
        let start = index * size
        guard index >= 0, start + size <= bytes.count else { return nil }
        func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: start + offset, as: T.self))
        }
        func loadBig<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
            T(bigEndian: bytes.loadUnaligned(fromByteOffset: start + offset, as: T.self))
        }
        let client: IPAddress = bytes[start + 27] == 4
            ? .v4(loadBig(28, as: UInt32.self))
            : .v6(loadBig(28, as: UInt64.self), loadBig(36, as: UInt64.self))
        return AttemptEntry(
            time: Double(bitPattern: load(0, as: UInt64.self)), device: Int64(load(8, as: UInt32.self)),
            name: Int64(load(12, as: UInt32.self)), cname: Int64(load(16, as: UInt32.self)), rule: Int64(load(20, as: UInt32.self)),
            type: load(24, as: UInt16.self), disposition: bytes[start + 26], client: client)
    }

    static func count(_ bytes: Data) -> Int { bytes.count / size }
}

extension Disposition {
    static let blockedCode: UInt8 = 3
    static let blockedByCNAMECode: UInt8 = 4

    /// The index of `label` in `AttemptEntry.labels`: the stored form, and a small dictionary key.
    var code: UInt8 {
        switch self {
        case .forwarded: 0
        case .cached: 1
        case .stale: 2
        case .blocked: 3
        case .blockedByCNAME: 4
        case .refused: 5
        case .rateLimited: 6
        case .minimalAny: 7
        case .failed: 8
        }
    }
}
