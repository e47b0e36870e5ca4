import DNSWire
import Locking
import Sockets

/// Token buckets per client address and per network (/24 for IPv4, /56 for IPv6), so neither one device
/// nor a block of spoofed addresses can flood Hush or use it to amplify. Two kinds of bucket: queries, and
/// the bytes of UDP replies, so a flood asking for large answers runs dry after a few of them rather than
/// after a thousand. The excess gets TC=1 over UDP (a real client retries over TCP, a spoofed one cannot)
/// and REFUSED over TCP. Like RRL's "slip", only every second excess UDP query gets the TC=1 reply and the
/// others get none. The defaults are far above what a household device sends, bursts and page loads
/// included. Exempt ranges (loopback by default: a router's forwarder or a stub on the same box, which
/// nobody outside can spoof) are never limited.
public final class RateLimitHandler: Resolving {
    public struct Settings: Sendable, Equatable {
        public var perAddressPerSecond: Double = 200
        public var perAddressBurst: Double = 1000
        public var perNetworkPerSecond: Double = 1000
        public var perNetworkBurst: Double = 5000
        /// Reply bytes over UDP. A burst of a few hundred ordinary answers is some 30-60 KB; a device's
        /// steady traffic is far below the refill. The refill is small so that a flood of a few thousand
        /// queries for large answers gets back at most twice what it sends even when it trickles in over
        /// half a minute (its TC=1 replies alone return half of it).
        public var perAddressBytesPerSecond: Double = 3 * 1024
        public var perAddressBytesBurst: Double = 64 * 1024
        public var perNetworkBytesPerSecond: Double = 64 * 1024
        public var perNetworkBytesBurst: Double = 512 * 1024
        /// Clients never limited.
        public var exempt: [AddressRange] = AddressRange.loopback
        /// Buckets kept; past this, idle (full) buckets are forgotten.
        public var maxTracked = 100_000
        public init() {}
    }

    struct Bucket {
        var queries: Double
        var bytes: Double
        var updated: Double
        var refusals = 0
    }

    private struct State {
        var addresses: [IPAddress: Bucket] = [:]
        var networks: [IPAddress: Bucket] = [:]
    }

    private let state = Locked(State())
    let settings: Settings
    let next: any Resolving
    let clock: @Sendable () -> Double
    private let addressRates: Rates
    private let networkRates: Rates

    public init(settings: Settings, next: any Resolving, clock: @escaping @Sendable () -> Double = MonotonicClock.seconds) {
        self.settings = settings
        self.next = next
        self.clock = clock
        addressRates = Rates(queries: settings.perAddressPerSecond, queryBurst: settings.perAddressBurst,
                             bytes: settings.perAddressBytesPerSecond, byteBurst: settings.perAddressBytesBurst)
        networkRates = Rates(queries: settings.perNetworkPerSecond, queryBurst: settings.perNetworkBurst,
                             bytes: settings.perNetworkBytesPerSecond, byteBurst: settings.perNetworkBytesBurst)
    }

    public func resolve(_ request: Request) -> Resolution {
        if isExempt(request.client) { return next.resolve(request) }
        let admission = admit(request.client)
        guard admission == .admitted else {
            if request.transport.isConnection {
                return .now(.synthesized(SynthesizedAnswer(rcode: .refused), .rateLimited))
            } else if admission == .slip {
                return .now(.synthesized(SynthesizedAnswer(rcode: .noError, truncated: true), .rateLimited))
            }
            return .now(Answer(.silence, .rateLimited))
        }
        // A connection cannot be spoofed, so its bytes cannot be turned on someone else.
        guard !request.transport.isConnection else { return next.resolve(request) }
        switch next.resolve(request) {
        case .now(let answer):
            charge(request.client, bytes: answer.replySize(for: request.query, transport: .udp))
            return .now(answer)
        case .later(let pending):
            let (client, query) = (request.client, request.query)
            return .later(pending.map { [self] answer in
                charge(client, bytes: answer.replySize(for: query, transport: .udp))
                return answer
            })
        }
    }

    func isExempt(_ client: IPAddress) -> Bool {
        for range in settings.exempt where range.contains(client) { return true }
        return false
    }

    /// What the buckets allow a query: an answer, the TC=1 slip, or nothing.
    enum Admission { case admitted, slip, drop }

    func admit(_ client: IPAddress) -> Admission {
        let now = clock()
        let network = Self.network(of: client)
        return state.withLock { state in
            if state.addresses.count + state.networks.count > settings.maxTracked { forgetIdle(&state, now) }
            var address = state.addresses[client] ?? addressRates.full(at: now)
            var block = state.networks[network] ?? networkRates.full(at: now)
            addressRates.refill(&address, now)
            networkRates.refill(&block, now)
            let verdict: Admission
            // Bytes are charged after the answer, so they may run below zero: the next queries wait.
            if address.queries >= 1 && block.queries >= 1 && address.bytes > 0 && block.bytes > 0 {
                address.queries -= 1
                block.queries -= 1
                verdict = .admitted
            } else {
                address.refusals += 1
                verdict = address.refusals % 2 == 1 ? .slip : .drop
            }
            state.addresses[client] = address
            state.networks[network] = block
            return verdict
        }
    }

    /// Takes a reply's bytes from the client's buckets.
    func charge(_ client: IPAddress, bytes: Int) {
        guard bytes > 0 else { return }
        let network = Self.network(of: client)
        state.withLock { state in
            state.addresses[client]?.bytes -= Double(bytes)
            state.networks[network]?.bytes -= Double(bytes)
        }
    }

    /// A bucket that would be full again holds nothing worth keeping.
    private func forgetIdle(_ state: inout State, _ now: Double) {
        state.addresses = state.addresses.filter { !addressRates.wouldBeFull($0.value, now) }
        state.networks = state.networks.filter { !networkRates.wouldBeFull($0.value, now) }
    }

    /// The /24 or /56 a client is in.
    static func network(of address: IPAddress) -> IPAddress {
        switch address {
        case .v4(let value): .v4(value & 0xFFFF_FF00)
        case .v6(let high, _): .v6(high & 0xFFFF_FFFF_FFFF_FF00, 0)
        }
    }

    /// How fast one kind of bucket refills and how much it holds.
    struct Rates {
        var queries: Double
        var queryBurst: Double
        var bytes: Double
        var byteBurst: Double

        func full(at now: Double) -> Bucket {
            Bucket(queries: queryBurst, bytes: byteBurst, updated: now)
        }

        func refill(_ bucket: inout Bucket, _ now: Double) {
            let elapsed = now - bucket.updated
            bucket.queries = min(queryBurst, bucket.queries + elapsed * queries)
            bucket.bytes = min(byteBurst, bucket.bytes + elapsed * bytes)
            bucket.updated = now
        }

        func wouldBeFull(_ bucket: Bucket, _ now: Double) -> Bool {
            let elapsed = now - bucket.updated
            return bucket.queries + elapsed * queries >= queryBurst && bucket.bytes + elapsed * bytes >= byteBurst
        }
    }
}
