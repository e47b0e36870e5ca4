import CHushSocket
import Glibc

/// The kernel's neighbour table (IPv4 ARP and IPv6 NDP, read over netlink): which MAC each on-link
/// address has. Entries still being resolved or failed are left out.
public enum NeighbourTable {
    /// Address → MAC ("aa:bb:cc:dd:ee:ff"), or nil when netlink cannot be read.
    public static func read(capacity: Int = 4096) -> [IPAddress: String]? {
        var entries = [hush_neighbour](repeating: hush_neighbour(), count: capacity)
        let count = hush_neighbours(&entries, Int32(entries.count))
        guard count >= 0 else { return nil }
        var table: [IPAddress: String] = [:]
        for entry in entries.prefix(Int(count)) {
            let bytes = withUnsafeBytes(of: entry.address) { Array($0) }
            let address: IPAddress
            if entry.family == AF_INET {
                address = .v4(bytes[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            } else {
                var raw = in6_addr()
                withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes[0..<16]) }
                address = IPAddress(raw)
            }
            table[address] = withUnsafeBytes(of: entry.mac) { Array($0) }.map { hex($0) }.joined(separator: ":")
        }
        return table
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}

/// The calling thread's scheduling, for background work that must not preempt answering.
public enum ThreadPriority {
    /// SCHED_BATCH at `nice`; false when the kernel refused.
    @discardableResult
    public static func lowerToBatch(nice: Int32) -> Bool {
        hush_lower_thread_priority(nice) == 0
    }
}
