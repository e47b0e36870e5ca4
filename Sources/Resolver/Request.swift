import DNSWire
import Sockets

/// One client query on its way through the stages.
public struct Request: Sendable {
    public enum Transport: String, Sendable { case udp, tcp }

    public var query: Query
    public var client: IPAddress
    public var transport: Transport

    public init(query: Query, client: IPAddress, transport: Transport) {
        self.query = query
        self.client = client
        self.transport = transport
    }
}

/// The answer a stage produced, and what happened to the query: the one value that stats, metrics and
/// Extended DNS Errors read.
public struct Answer: Sendable {
    public enum Content: Sendable {
        case synthesized(SynthesizedAnswer)
        case stored(ServedMessage)
        /// No reply at all (a rate-limited UDP query between the ones that get TC=1).
        case silence
    }

    public var content: Content
    public var disposition: Disposition

    public init(_ content: Content, _ disposition: Disposition) {
        self.content = content
        self.disposition = disposition
    }

    public static func synthesized(_ answer: SynthesizedAnswer, _ disposition: Disposition) -> Answer {
        Answer(.synthesized(answer), disposition)
    }
}

/// A stored upstream message as served now: its age, the cap on its TTLs (max-ttl), and whether it is stale.
public struct ServedMessage: Sendable {
    public var message: StoredMessage
    public var age: UInt32
    public var ttlCap: UInt32
    public var stale: Bool

    public init(message: StoredMessage, age: UInt32 = 0, ttlCap: UInt32 = .max, stale: Bool = false) {
        self.message = message
        self.age = age
        self.ttlCap = ttlCap
        self.stale = stale
    }
}
