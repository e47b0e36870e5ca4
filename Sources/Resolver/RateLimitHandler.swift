import DNSWire
import Locking
import Sockets

/// Token buckets per client address and per network (/24 for IPv4, /56 for IPv6), so neither one device
/// nor a block of spoofed addresses can flood Hush or use it to amplify. The excess gets TC=1 over UDP (a
/// real client retries over TCP, a spoofed one cannot) and REFUSED over TCP. The default rates are far
/// above what any household device sends. Like RRL's "slip", only every second excess UDP query gets the
/// TC=1 reply and the others get none, so a flood always gets fewer bytes back than it sends.
public final class RateLimitHandler: Resolving {
    public struct Settings: Sendable, Equatable {
        public var perAddressPerSecond: Double = 200
        public var perAddressBurst: Double = 1000
        public var perNetworkPerSecond: Double = 1000
        public var perNetworkBurst: Double = 5000
        /// Buckets kept; past this, idle (full) buckets are forgotten.
        public var maxTracked = 100_000
        public init() {}
    }

    struct Bucket {
        var tokens: Double
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

    public init(settings: Settings, next: any Resolving, clock: @escaping @Sendable () -> Double = MonotonicClock.seconds) {
        self.settings = settings
        self.next = next
        self.clock = clock
    }

    public func resolve(_ request: Request) -> Resolution {
        let verdict = admit(request.client)
        guard verdict == .admitted else {
            if request.transport == .tcp {
                return .now(.synthesized(SynthesizedAnswer(rcode: .refused), .rateLimited))
            } else if verdict == .slip {
                return .now(.synthesized(SynthesizedAnswer(rcode: .noError, truncated: true), .rateLimited))
            }
            return .now(Answer(.silence, .rateLimited))
        }
        return next.resolve(request)
    }

    enum Verdict { case admitted, slip, drop }

    func admit(_ client: IPAddress) -> Verdict {
        let now = clock()
        let network = Self.network(of: client)
        return state.withLock { state in
            if state.addresses.count + state.networks.count > settings.maxTracked { Self.forgetIdle(&state, now, settings) }
            var address = state.addresses[client] ?? Bucket(tokens: settings.perAddressBurst, updated: now)
            var block = state.networks[network] ?? Bucket(tokens: settings.perNetworkBurst, updated: now)
            Self.refill(&address, now, settings.perAddressPerSecond, settings.perAddressBurst)
            Self.refill(&block, now, settings.perNetworkPerSecond, settings.perNetworkBurst)
            let verdict: Verdict
            if address.tokens >= 1 && block.tokens >= 1 {
                address.tokens -= 1
                block.tokens -= 1
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

    static func refill(_ bucket: inout Bucket, _ now: Double, _ rate: Double, _ burst: Double) {
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
    }

    /// A bucket that would be full again holds nothing worth keeping.
    private static func forgetIdle(_ state: inout State, _ now: Double, _ settings: Settings) {
        state.addresses = state.addresses.filter { $0.value.tokens + (now - $0.value.updated) * settings.perAddressPerSecond < settings.perAddressBurst }
        state.networks = state.networks.filter { $0.value.tokens + (now - $0.value.updated) * settings.perNetworkPerSecond < settings.perNetworkBurst }
    }

    /// The /24 or /56 a client is in.
    static func network(of address: IPAddress) -> IPAddress {
        switch address {
        case .v4(let value): .v4(value & 0xFFFF_FF00)
        case .v6(let high, _): .v6(high & 0xFFFF_FFFF_FFFF_FF00, 0)
        }
    }
}
