import Foundation
import Sockets

/// Who a client address is: a device identified by MAC where the kernel's neighbour table knows it (so a
/// phone with rotating IPv6 addresses stays one device), else by its address; and its name, from the
/// config, DHCP leases (dnsmasq, ISC dhcpd, odhcpd), /etc/ethers, then /etc/hosts. Refreshed while running.
/// Used only from the stats writer's thread.
public final class DeviceDirectory: @unchecked Sendable {
    public struct Identity: Sendable, Hashable {
        public var key: String
        public var mac: String?
        public var name: String?

        /// The key of a device known only by its address.
        public static func addressKey(_ address: IPAddress) -> String { "ip:\(address)" }
    }

    public struct Sources: Sendable {
        /// MAC or address (lower case) → name, from the config.
        public var configuredNames: [String: String] = [:]
        public var leaseFiles: [String] = []
        public var ethersFile: String? = "/etc/ethers"
        public var hostsFile: String? = "/etc/hosts"
        public var refreshSeconds: Double = 60
        public init() {}
    }

    /// Replaced on SIGHUP (on the writer's thread, like every other use).
    var sources: Sources
    private var macByAddress: [IPAddress: String] = [:]
    private var namesByMAC: [String: String] = [:]
    private var namesByAddress: [IPAddress: String] = [:]
    private var refreshedAt: Double = -.infinity
    /// When each unknown address last made Hush read the neighbour table, and a budget for such reads, so a
    /// flood of spoofed addresses cannot make it ask netlink for every packet.
    private var lookedUp: [IPAddress: Double] = [:]
    private var lookupBudget = (tokens: DeviceDirectory.lookupBurst, updated: -Double.infinity)
    static let lookupBurst = 20.0
    static let lookupsPerSecond = 5.0
    /// Addresses remembered with their MAC after the kernel forgets them (an idle phone's entry expires).
    static let rememberedAddresses = 65_536

    public init(sources: Sources) {
        self.sources = sources
    }

    public func identity(for address: IPAddress, now: Double = Date().timeIntervalSince1970) -> Identity {
        if now - refreshedAt > sources.refreshSeconds { refresh(now: now) }
        // An address not seen before is asked about before its first record is written, so a phone's new
        // IPv6 address joins its MAC's device at once.
        if macByAddress[address] == nil, !isLoopback(address), mayLookUp(address, now: now) { readNeighbours(now: now) }
        let mac = macByAddress[address]
        let name = mac.flatMap { sources.configuredNames[$0] } ?? sources.configuredNames[address.description]
            ?? mac.flatMap { namesByMAC[$0] } ?? namesByAddress[address]
        return Identity(key: mac.map { "mac:\($0)" } ?? Identity.addressKey(address), mac: mac, name: name)
    }

    /// Once per address every 30 s, within a budget of a few reads a second.
    private func mayLookUp(_ address: IPAddress, now: Double) -> Bool {
        if let last = lookedUp[address], now - last < 30 { return false }
        lookupBudget.tokens = min(Self.lookupBurst, lookupBudget.tokens + (now - lookupBudget.updated) * Self.lookupsPerSecond)
        lookupBudget.updated = now
        guard lookupBudget.tokens >= 1 else { return false }
        lookupBudget.tokens -= 1
        if lookedUp.count >= Self.rememberedAddresses { lookedUp.removeAll() }
        lookedUp[address] = now
        return true
    }

    public func refresh(now: Double = Date().timeIntervalSince1970) {
        refreshedAt = now
        readNeighbours(now: now)
        var byMAC: [String: String] = [:]
        var byAddress: [IPAddress: String] = [:]
        if let hosts = sources.hostsFile { HostsFiles.readHosts(hosts, into: &byAddress) }
        if let ethers = sources.ethersFile { HostsFiles.readEthers(ethers, into: &byMAC, addresses: &byAddress) }
        for file in sources.leaseFiles { LeaseFiles.read(file, namesByMAC: &byMAC, namesByAddress: &byAddress) }
        namesByMAC = byMAC
        namesByAddress = byAddress
    }

    private func readNeighbours(now: Double) {
        guard let current = NeighbourTable.read(), !current.isEmpty else { return }
        // What the kernel says now wins; what it has forgotten is kept (bounded).
        var table = macByAddress.count + current.count > Self.rememberedAddresses ? [:] : macByAddress
        table.merge(current) { _, now in now }
        macByAddress = table
    }

    private func isLoopback(_ address: IPAddress) -> Bool {
        AddressRange.loopback.contains { $0.contains(address) }
    }

    /// "AA:B:cc:..." → "aa:0b:cc:...", or nil when it is not a MAC address.
    public static func normalisedMAC(_ text: String) -> String? {
        let parts = text.lowercased().split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts.allSatisfy({ (1...2).contains($0.count) && UInt8($0, radix: 16) != nil }) else { return nil }
        return parts.map { $0.count == 1 ? "0\($0)" : String($0) }.joined(separator: ":")
    }
}

enum HostsFiles {
    static func lines(_ path: String) -> [[Substring]] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map { line in
            (line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                .split(whereSeparator: { $0 == " " || $0 == "\t" })
        }.filter { !$0.isEmpty }
    }

    static func readHosts(_ path: String, into names: inout [IPAddress: String]) {
        for fields in lines(path) where fields.count >= 2 {
            if let address = IPAddress(String(fields[0])), names[address] == nil { names[address] = String(fields[1]) }
        }
    }

    static func readEthers(_ path: String, into byMAC: inout [String: String], addresses: inout [IPAddress: String]) {
        for fields in lines(path) where fields.count >= 2 {
            guard let mac = DeviceDirectory.normalisedMAC(String(fields[0])) else { continue }
            if let address = IPAddress(String(fields[1])) {
                if let name = addresses[address] { byMAC[mac] = name }
            } else {
                byMAC[mac] = String(fields[1])
            }
        }
    }
}

/// DHCP lease files in the three formats routers write.
public enum LeaseFiles {
    public static func read(_ path: String, namesByMAC: inout [String: String], namesByAddress: inout [IPAddress: String]) {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let text = String(decoding: data, as: UTF8.self)
        if text.contains("lease ") && text.contains("{") {
            readISC(text, &namesByMAC, &namesByAddress)
        } else {
            for line in text.split(separator: "\n") {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                if fields.first == "#" {
                    readODHCPD(fields, &namesByAddress)
                } else {
                    readDnsmasq(fields, &namesByMAC, &namesByAddress)
                }
            }
        }
    }

    /// `1700000000 aa:bb:cc:dd:ee:ff 192.168.1.20 phone 01:aa:...` (IPv6: `expiry iaid address name duid`).
    static func readDnsmasq(_ fields: [String], _ byMAC: inout [String: String], _ byAddress: inout [IPAddress: String]) {
        guard fields.count >= 4, Int(fields[0]) != nil, fields[3] != "*", let address = IPAddress(fields[2]) else { return }
        byAddress[address] = fields[3]
        if let mac = DeviceDirectory.normalisedMAC(fields[1]) { byMAC[mac] = fields[3] }
    }

    /// `# br-lan DUID IAID hostname validity key prefix address/128 ...`
    static func readODHCPD(_ fields: [String], _ byAddress: inout [IPAddress: String]) {
        guard fields.count >= 9, fields[4] != "-" else { return }
        for address in fields[8...] {
            if let ip = IPAddress(String(address.split(separator: "/").first ?? "")) { byAddress[ip] = fields[4] }
        }
    }

    /// `lease 192.168.1.20 { hardware ethernet aa:..; client-hostname "tv"; }`
    static func readISC(_ text: String, _ byMAC: inout [String: String], _ byAddress: inout [IPAddress: String]) {
        for block in text.components(separatedBy: "lease ").dropFirst() {
            guard let address = IPAddress(String(block.split(separator: " ").first ?? "")),
                  let body = block.split(separator: "{", maxSplits: 1).dropFirst().first?.split(separator: "}").first else { continue }
            var mac: String?
            var name: String?
            for statement in body.split(separator: ";") {
                let words = statement.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init)
                if words.count >= 3, words[0] == "hardware", words[1] == "ethernet" { mac = DeviceDirectory.normalisedMAC(words[2]) }
                if words.count >= 2, words[0] == "client-hostname" { name = words[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            }
            guard let name else { continue }
            byAddress[address] = name
            if let mac { byMAC[mac] = name }
        }
    }
}
