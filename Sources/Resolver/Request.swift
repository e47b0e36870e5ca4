import DNSWire
import Sockets

/// One client query on its way through the stages.
public struct Request: Sendable {
    public enum Transport: String, Sendable {
        case udp, tcp
        /// DNS over TLS (RFC 7858) and over HTTPS (RFC 8484) from a client.
        case tls, https

        /// Over a connection, which cannot be spoofed and takes a whole message.
        public var isConnection: Bool { self != .udp }
        public var isEncrypted: Bool { self == .tls || self == .https }
    }

    public var query: Query
    public var client: IPAddress
    public var transport: Transport

    public init(query: Query, client: IPAddress, transport: Transport) {
        self.query = query
        self.client = client
        self.transport = transport
    }
}

/// The answer a stage produced, and what happened to the query. Stats and metrics read the disposition; a
/// synthesized answer carries its own Extended DNS Error, and a stored one is given the stale note when its
/// disposition is `.stale`.
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

/// A stored upstream message as served now: its age and the cap on its TTLs (max-ttl; 30 s when stale).
public struct ServedMessage: Sendable {
    public var message: StoredMessage
    public var age: UInt32
    public var ttlCap: UInt32

    public init(message: StoredMessage, age: UInt32 = 0, ttlCap: UInt32 = .max) {
        self.message = message
        self.age = age
        self.ttlCap = ttlCap
    }
}

extension Request {
    /// The largest reply the client takes: its UDP size, or a whole message over TCP.
    public var replyLimit: Int { transport.isConnection ? 65_535 : query.udpReplyLimit }
}

extension Answer {
    /// The Extended DNS Error a stored answer carries: only a stale one has a note (a synthesized answer
    /// carries its own).
    public var storedNote: ExtendedError? {
        guard case .stored = content, case .stale = disposition else { return nil }
        return ExtendedError(code: ExtendedError.staleAnswerCode, text: "upstream unreachable; stale answer")
    }

    /// The seconds the answer may be cached by the client, for a stored answer (stats read it to tell a
    /// device re-resolving a name it keeps using from a beacon); nil for answers Hush made.
    public var ttl: UInt32? {
        guard case .stored(let served) = content, let lifetime = served.message.cacheTTL else { return nil }
        let capped = min(lifetime, served.ttlCap)
        return capped > served.age ? capped - served.age : 0
    }

    /// How many bytes the reply to `query` takes on the wire, without writing it.
    public func replySize(for query: Query, transport: Request.Transport) -> Int {
        let limit = transport.isConnection ? 65_535 : query.udpReplyLimit
        switch content {
        case .silence: return 0
        case .synthesized(let answer): return ReplyWriter.synthesizedSize(answer, for: query, limit: limit)
        case .stored(let served): return ReplyWriter.storedSize(served.message, for: query, extendedError: storedNote, limit: limit)
        }
    }
}
