/// An upstream reply made ready to serve many times: canonical wire bytes without OPT, where each TTL
/// sits, which names the answer's CNAMEs lead to, and how long it may be cached. A class: a cached message is
/// handed out for every hit, and one reference count is cheaper than one for each of its arrays.
public final class StoredMessage: Sendable {
    public let wire: [UInt8]
    public let ttlOffsets: [UInt16]
    public let rcode: RCode
    public let answerCount: Int
    /// Targets of CNAME records in the answer section, for CNAME uncloaking.
    public let cnameTargets: [DomainName]
    /// Seconds the message may be cached; nil when it must not be (errors, negative without SOA, TTL 0).
    public let cacheTTL: UInt32?
    public let isTruncated: Bool

    /// Checks an upstream reply against the query that was sent, then stores ldns's rewrite of it.
    public convenience init(upstreamReply reply: [UInt8], expectedID: UInt16, question: Query) throws(WireError) {
        try WireScan.checkReply(reply, expectedID: expectedID, question: question)
        let canonical = try LDNSMessage(wire: reply).canonicalWireWithoutEDNS()
        try self.init(canonical: canonical)
    }

    init(canonical wire: [UInt8]) throws(WireError) {
        var ttlOffsets: [UInt16] = []
        var cnameTargets: [DomainName] = []
        var answerTTL: UInt32?
        var negativeTTL: UInt32?
        let counts = try wire.withUnsafeBufferPointer { message throws(WireError) -> Int in
            guard message.count >= 12 else { throw .truncated }
            var position = try skipName(message, at: 12) + 4
            let answers = Int(readUInt16(message, 6))
            let authority = Int(readUInt16(message, 8))
            let total = answers + authority + Int(readUInt16(message, 10))
            for index in 0..<total {
                let record = try readRecord(message, at: position)
                let ttl = readUInt32(message, record.ttlOffset)
                ttlOffsets.append(UInt16(record.ttlOffset))
                if index < answers {
                    answerTTL = min(answerTTL ?? ttl, ttl)
                    if record.type == RecordType.cname.rawValue {
                        var target: [UInt8] = []
                        _ = try readName(message, at: record.rdataOffset, allowPointers: true, presentation: &target, collect: true)
                        cnameTargets.append(DomainName(bytes: target))
                    }
                } else if index < answers + authority, record.type == RecordType.soa.rawValue, record.rdataLength >= 22 {
                    let minimum = readUInt32(message, record.end - 4)
                    negativeTTL = min(ttl, minimum)
                }
                position = record.end
            }
            return answers
        }
        let rcode = RCode(rawValue: UInt16(wire[3] & 0x0F))
        self.wire = wire
        self.ttlOffsets = ttlOffsets
        self.rcode = rcode
        self.answerCount = counts
        self.cnameTargets = cnameTargets
        self.isTruncated = wire[2] & 0x02 != 0
        switch rcode {
        case .noError where counts > 0: cacheTTL = answerTTL.flatMap { $0 > 0 ? $0 : nil }
        case .noError, .nxDomain: cacheTTL = negativeTTL.flatMap { $0 > 0 ? $0 : nil }
        default: cacheTTL = nil
        }
    }
}
