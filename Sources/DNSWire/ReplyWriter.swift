/// Writes every reply a client receives. Replies are built by hand: a synthesized answer is a header,
/// the client's own question bytes and a few fixed records, which costs far less than ldns's generic
/// writer (see bench/). Tests parse every shape written here with ldns. Each reply can be appended to a
/// buffer the caller keeps (the UDP loop's turn buffer), so serving it allocates nothing.
public enum ReplyWriter {
    /// An error reply for a query the parser rejected. The question is echoed when it was read whole
    /// (BADVERS), since clients match a reply to their query by it.
    public static func reject(_ rejected: RejectedQuery) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(23 + (rejected.question?.count ?? 0))
        writeHeader(
            &out, id: rejected.id, opcode: rejected.opcode, recursionDesired: rejected.recursionDesired,
            rcode: rejected.rcode, counts: (rejected.question == nil ? 0 : 1, 0, 0, rejected.edns == nil ? 0 : 1))
        if let question = rejected.question { out.append(contentsOf: question) }
        if let edns = rejected.edns {
            writeOPT(&out, rcode: rejected.rcode, dnssecOK: edns.dnssecOK, extendedError: nil)
        }
        return out
    }

    public static func synthesized(_ answer: SynthesizedAnswer, for query: Query, limit: Int) -> [UInt8] {
        var out: [UInt8] = []
        synthesized(answer, for: query, limit: limit, appendingTo: &out)
        return out
    }

    /// A reply Hush made itself. Over UDP, a reply above `limit` becomes header and question with TC=1.
    public static func synthesized(_ answer: SynthesizedAnswer, for query: Query, limit: Int, appendingTo out: inout [UInt8]) {
        let start = out.count
        if answer.truncated { return truncated(query, rcode: answer.rcode, appendingTo: &out) }
        out.reserveCapacity(start +
            12 + query.nameWireCount + 4 + answer.records.reduce(0) { $0 + 12 + $1.rdata.count }
                + (answer.negativeSOA == nil ? 0 : 12 + NegativeSOA.rdataLength)
                + (query.edns == nil ? 0 : 11 + (answer.extendedError.map { 6 + $0.textLength } ?? 0)))
        let withOPT = query.edns != nil
        writeHeader(
            &out, id: query.id, opcode: query.opcode, recursionDesired: query.recursionDesired,
            checkingDisabled: query.checkingDisabled, rcode: answer.rcode,
            counts: (1, answer.records.count, answer.negativeSOA == nil ? 0 : 1, withOPT ? 1 : 0))
        writeQuestion(&out, query)
        for record in answer.records {
            writeRecordAtQuestionName(&out, type: record.type, ttl: record.ttl, rdata: record.rdata)
        }
        if let soa = answer.negativeSOA {
            writeRecordHeaderAtQuestionName(&out, type: .soa, ttl: soa.ttl, rdataLength: NegativeSOA.rdataLength)
            soa.appendRdata(to: &out)
        }
        if let edns = query.edns {
            writeOPT(&out, rcode: answer.rcode, dnssecOK: edns.dnssecOK, extendedError: answer.extendedError)
        }
        if out.count - start > limit { truncate(&out, from: start, query, rcode: answer.rcode) }
    }

    public static func stored(
        _ message: StoredMessage, for query: Query, age: UInt32, ttlCap: UInt32 = .max,
        extendedError: ExtendedError? = nil, limit: Int
    ) -> [UInt8] {
        var out: [UInt8] = []
        stored(message, for: query, age: age, ttlCap: ttlCap, extendedError: extendedError, limit: limit, appendingTo: &out)
        return out
    }

    /// A reply from a stored upstream message: the client's ID, flags and question bytes, TTLs lowered by
    /// `age` and never above `ttlCap` (max-ttl; 30 for stale answers), and an OPT of our own when the client
    /// sent one.
    public static func stored(
        _ message: StoredMessage, for query: Query, age: UInt32, ttlCap: UInt32 = .max,
        extendedError: ExtendedError? = nil, limit: Int, appendingTo out: inout [UInt8]
    ) {
        let start = out.count
        out.reserveCapacity(start + message.wire.count + 11 + (extendedError.map { $0.textLength + 6 } ?? 0))
        out.append(contentsOf: message.wire)
        out.withUnsafeMutableBufferPointer { whole in
            let buffer = UnsafeMutableBufferPointer(rebasing: whole[start...])
            buffer[0] = UInt8(query.id >> 8)
            buffer[1] = UInt8(truncatingIfNeeded: query.id)
            buffer[2] = 0x80 | (query.recursionDesired ? 1 : 0)   // QR; AA cleared, Hush is not the authority
            buffer[3] = 0x80 | (buffer[3] & 0x2F) | (query.checkingDisabled ? 0x10 : 0) // RA, keep AD and rcode
            // The client's own spelling of the name (the stored one is the first asker's).
            query.writeNameWire(to: buffer.baseAddress! + 12)
            for offset in message.ttlOffsets {
                let at = Int(offset)
                let original = UInt32(buffer[at]) << 24 | UInt32(buffer[at + 1]) << 16
                    | UInt32(buffer[at + 2]) << 8 | UInt32(buffer[at + 3])
                let capped = min(original, ttlCap)
                let ttl = capped > age ? capped - age : 0
                buffer[at] = UInt8(ttl >> 24)
                buffer[at + 1] = UInt8(truncatingIfNeeded: ttl >> 16)
                buffer[at + 2] = UInt8(truncatingIfNeeded: ttl >> 8)
                buffer[at + 3] = UInt8(truncatingIfNeeded: ttl)
            }
        }
        if let edns = query.edns {
            let additional = (UInt16(out[start + 10]) << 8 | UInt16(out[start + 11])) + 1
            out[start + 10] = UInt8(additional >> 8)
            out[start + 11] = UInt8(truncatingIfNeeded: additional)
            writeOPT(&out, rcode: message.rcode, dnssecOK: edns.dnssecOK, extendedError: extendedError)
        }
        if out.count - start > limit { truncate(&out, from: start, query, rcode: message.rcode) }
    }

    /// The size of the reply `synthesized` writes, without writing it (rate limiting counts reply bytes).
    public static func synthesizedSize(_ answer: SynthesizedAnswer, for query: Query, limit: Int) -> Int {
        let bare = truncatedSize(query)
        if answer.truncated { return bare }
        let size = bare + answer.records.reduce(0) { $0 + 12 + $1.rdata.count }
            + (answer.negativeSOA == nil ? 0 : 12 + NegativeSOA.rdataLength)
            + (query.edns == nil ? 0 : answer.extendedError.map { 6 + $0.textLength } ?? 0)
        return size > limit ? bare : size
    }

    /// The size of the reply `stored` writes, without writing it.
    public static func storedSize(_ message: StoredMessage, for query: Query, extendedError: ExtendedError? = nil, limit: Int) -> Int {
        let size = message.wire.count + (query.edns == nil ? 0 : 11 + (extendedError.map { 6 + $0.textLength } ?? 0))
        return size > limit ? truncatedSize(query) : size
    }

    /// Header, question and (for an EDNS client) an empty OPT: what `truncated` writes.
    static func truncatedSize(_ query: Query) -> Int {
        12 + query.nameWireCount + 4 + (query.edns == nil ? 0 : 11)
    }

    /// Replaces the reply written from `start` with its truncated form.
    static func truncate(_ out: inout [UInt8], from start: Int, _ query: Query, rcode: RCode) {
        out.removeSubrange(start...)
        truncated(query, rcode: rcode, appendingTo: &out)
    }

    /// Header and question with TC=1: the client retries over TCP and gets the whole answer there.
    static func truncated(_ query: Query, rcode: RCode, appendingTo out: inout [UInt8]) {
        writeHeader(
            &out, id: query.id, opcode: query.opcode, recursionDesired: query.recursionDesired,
            checkingDisabled: query.checkingDisabled, truncated: true, rcode: rcode,
            counts: (1, 0, 0, query.edns == nil ? 0 : 1))
        writeQuestion(&out, query)
        if let edns = query.edns { writeOPT(&out, rcode: rcode, dnssecOK: edns.dnssecOK, extendedError: nil) }
    }

    static func writeHeader(
        _ out: inout [UInt8], id: UInt16, opcode: UInt8, recursionDesired: Bool, checkingDisabled: Bool = false,
        truncated: Bool = false, rcode: RCode, counts: (Int, Int, Int, Int)
    ) {
        out.appendUInt16(id)
        out.append(0x80 | (opcode & 0x0F) << 3 | (truncated ? 0x02 : 0) | (recursionDesired ? 0x01 : 0))
        out.append(0x80 | (checkingDisabled ? 0x10 : 0) | UInt8(rcode.rawValue & 0x0F))
        out.appendUInt16(UInt16(counts.0))
        out.appendUInt16(UInt16(counts.1))
        out.appendUInt16(UInt16(counts.2))
        out.appendUInt16(UInt16(counts.3))
    }

    static func writeQuestion(_ out: inout [UInt8], _ query: Query) {
        query.appendNameWire(to: &out)
        out.appendUInt16(query.type.rawValue)
        out.appendUInt16(query.recordClass)
    }

    /// A record whose owner is a compression pointer to the question name at offset 12.
    static func writeRecordAtQuestionName(_ out: inout [UInt8], type: RecordType, ttl: UInt32, rdata: [UInt8]) {
        writeRecordHeaderAtQuestionName(&out, type: type, ttl: ttl, rdataLength: rdata.count)
        out.append(contentsOf: rdata)
    }

    static func writeRecordHeaderAtQuestionName(_ out: inout [UInt8], type: RecordType, ttl: UInt32, rdataLength: Int) {
        out.append(0xC0)
        out.append(0x0C)
        out.appendUInt16(type.rawValue)
        out.appendUInt16(1)
        out.appendUInt32(ttl)
        out.appendUInt16(UInt16(rdataLength))
    }

    static func writeOPT(_ out: inout [UInt8], rcode: RCode, dnssecOK: Bool, extendedError: ExtendedError?) {
        out.append(0)
        out.appendUInt16(RecordType.opt.rawValue)
        out.appendUInt16(UInt16(EDNS.advertisedUDPSize))
        out.append(UInt8(truncatingIfNeeded: rcode.rawValue >> 4))   // extended RCODE bits
        out.append(0)                                               // version 0
        out.append(dnssecOK ? 0x80 : 0)
        out.append(0)
        guard let extendedError else {
            out.appendUInt16(0)
            return
        }
        let length = extendedError.textLength
        out.appendUInt16(UInt16(6 + length))
        out.appendUInt16(15)                                        // option code: Extended DNS Error
        out.appendUInt16(UInt16(2 + length))
        out.appendUInt16(extendedError.code)
        let lead = extendedError.lead.utf8.prefix(length)
        out.append(contentsOf: lead)
        out.append(contentsOf: extendedError.detail.utf8.prefix(length - lead.count))
    }
}
