/// A client's query as the fast parser read it. The question's bytes are kept exactly as sent so the
/// reply can echo them, letter case included.
public struct Query: Sendable {
    public var id: UInt16
    public var opcode: UInt8
    public var recursionDesired: Bool
    public var checkingDisabled: Bool
    /// The question's name in wire form, as the client wrote it.
    public var nameWire: [UInt8] { spelling ?? name.wire }
    /// The same name in lower-case presentation form.
    public var name: DomainName
    /// The client's wire bytes, kept only when they differ from `name`'s (upper case, escaped bytes).
    /// Most clients ask in lower case, and a second array per query would be an allocation on every answer.
    private var spelling: [UInt8]?
    public var type: RecordType
    public var recordClass: UInt16
    public var edns: EDNS?

    public init(
        id: UInt16, opcode: UInt8 = 0, recursionDesired: Bool = true, checkingDisabled: Bool = false,
        nameWire: [UInt8], name: DomainName, type: RecordType, recordClass: UInt16 = 1, edns: EDNS? = nil
    ) {
        self.init(id: id, opcode: opcode, recursionDesired: recursionDesired, checkingDisabled: checkingDisabled,
                  spelling: nameWire == name.wire ? nil : nameWire, name: name, type: type, recordClass: recordClass, edns: edns)
    }

    /// Made by the parser, which knows whether the client's bytes are `name`'s own wire form.
    init(id: UInt16, opcode: UInt8, recursionDesired: Bool, checkingDisabled: Bool, spelling: [UInt8]?, name: DomainName,
         type: RecordType, recordClass: UInt16, edns: EDNS?) {
        self.id = id
        self.opcode = opcode
        self.recursionDesired = recursionDesired
        self.checkingDisabled = checkingDisabled
        self.name = name
        self.spelling = spelling
        self.type = type
        self.recordClass = recordClass
        self.edns = edns
    }

    /// The wire name's length, without building it.
    var nameWireCount: Int { spelling?.count ?? name.wireCount }

    /// Appends the question's name as the client wrote it.
    func appendNameWire(to out: inout [UInt8]) {
        if let spelling { out.append(contentsOf: spelling) } else { name.appendWire(to: &out) }
    }

    /// Writes the question's name as the client wrote it, `nameWireCount` bytes at `target`.
    func writeNameWire(to target: UnsafeMutablePointer<UInt8>) {
        if let spelling {
            spelling.withUnsafeBufferPointer { target.update(from: $0.baseAddress!, count: $0.count) }
        } else {
            name.writeWire(to: target)
        }
    }

    /// The largest reply the client accepts over UDP: 512 without EDNS, and never above 1232 so that
    /// replies are not fragmented (DNS flag day 2020).
    public var udpReplyLimit: Int {
        guard let edns else { return 512 }
        return min(max(Int(edns.udpSize), 512), EDNS.advertisedUDPSize)
    }
}

/// The client's OPT record.
public struct EDNS: Sendable, Equatable {
    public static let advertisedUDPSize = 1232
    public var udpSize: UInt16
    public var version: UInt8
    public var dnssecOK: Bool
    /// The client sent edns-tcp-keepalive (RFC 7828): only then may a reply carry one.
    public var keepalive: Bool
    /// The client padded its query (RFC 7830): an encrypted reply is then padded too (RFC 8467).
    public var padding: Bool

    public init(udpSize: UInt16 = 1232, version: UInt8 = 0, dnssecOK: Bool = false, keepalive: Bool = false, padding: Bool = false) {
        self.udpSize = udpSize
        self.version = version
        self.dnssecOK = dnssecOK
        self.keepalive = keepalive
        self.padding = padding
    }
}

/// A query that gets an error reply without going through the resolver.
public struct RejectedQuery: Sendable, Equatable {
    public var id: UInt16
    public var opcode: UInt8
    public var recursionDesired: Bool
    public var rcode: RCode
    public var edns: EDNS?
    public var reason: String
    /// The question's bytes (name, type, class), when they were read whole.
    public var question: [UInt8]?

    public init(id: UInt16, opcode: UInt8, recursionDesired: Bool, rcode: RCode, edns: EDNS?, reason: String, question: [UInt8]? = nil) {
        self.id = id
        self.opcode = opcode
        self.recursionDesired = recursionDesired
        self.rcode = rcode
        self.edns = edns
        self.reason = reason
        self.question = question
    }
}

/// What the fast parser made of a packet.
public enum QueryParse: Sendable {
    case query(Query)
    /// Answer with an error code (FORMERR, NOTIMP, BADVERS).
    case reject(RejectedQuery)
    /// Send nothing: too short to answer, or a response (QR=1), which must never be answered.
    case drop(String)
}
