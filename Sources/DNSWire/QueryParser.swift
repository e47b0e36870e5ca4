/// The hot-path reader for client queries. It reads only what the resolver needs and checks what ldns
/// lets through (two OPT records, trailing bytes, QR=1, pointer loops). Tests hold it to ldns's own parse.
public enum QueryParser {
    public static func parse(_ packet: UnsafeBufferPointer<UInt8>) -> QueryParse {
        guard packet.count >= 12 else { return .drop("shorter than a DNS header") }
        let id = readUInt16(packet, 0)
        let flags = packet[2]
        guard flags & 0x80 == 0 else { return .drop("QR bit set: a response, not a query") }
        let opcode = (flags >> 3) & 0x0F
        let recursionDesired = flags & 0x01 != 0
        func reject(_ rcode: RCode, _ reason: String, edns: EDNS? = nil, question: [UInt8]? = nil) -> QueryParse {
            .reject(RejectedQuery(
                id: id, opcode: opcode, recursionDesired: recursionDesired, rcode: rcode, edns: edns, reason: reason,
                question: question))
        }
        guard opcode == 0 else { return reject(.notImp, "opcode \(opcode) is not QUERY") }
        guard readUInt16(packet, 4) == 1 else { return reject(.formErr, "QDCOUNT is not 1") }

        var name: [UInt8] = []
        // One allocation: the presentation form is at most the wire form's length, or four times that
        // when every byte must be escaped (which only then grows the array).
        name.reserveCapacity(min(255, packet.count - 12))
        let afterName: Int
        do {
            afterName = try readName(packet, at: 12, allowPointers: false, presentation: &name, collect: true)
        } catch {
            return reject(.formErr, "bad question name: \(error)")
        }
        guard afterName + 4 <= packet.count else { return reject(.formErr, "question truncated") }
        let type = readUInt16(packet, afterName)
        let recordClass = readUInt16(packet, afterName + 2)

        // A query carries no answer or authority records, and only OPT in the additional section; anything
        // else is refused here rather than trusted to parse the same way everywhere.
        guard readUInt16(packet, 6) == 0, readUInt16(packet, 8) == 0 else {
            return reject(.formErr, "a query with answer or authority records")
        }
        var position = afterName + 4
        var edns: EDNS?
        do {
            for _ in 0..<Int(readUInt16(packet, 10)) {
                let record = try readRecord(packet, at: position)
                guard record.type == RecordType.opt.rawValue else { throw WireError.badOPT }
                guard edns == nil else { throw WireError.duplicateOPT }
                guard packet[record.nameStart] == 0 else { throw WireError.badOPT }
                edns = EDNS(
                    udpSize: record.recordClass,
                    version: packet[record.ttlOffset + 1],
                    dnssecOK: packet[record.ttlOffset + 2] & 0x80 != 0)
                try EDNSOptions.read(packet, record.rdataOffset..<record.end, into: &edns!)
                position = record.end
            }
        } catch {
            return reject(.formErr, "bad additional record: \(error)")
        }
        guard position == packet.count else { return reject(.formErr, "\(packet.count - position) bytes after the last record") }
        if let edns, edns.version > 0 {
            return reject(.badVers, "EDNS version \(edns.version)", edns: EDNS(version: 0, dnssecOK: edns.dnssecOK),
                          question: Array(packet[12..<afterName + 4]))
        }
        let domainName = DomainName(bytes: name)
        return .query(Query(
            id: id, opcode: opcode, recursionDesired: recursionDesired,
            checkingDisabled: packet[3] & 0x10 != 0,
            spelling: spelling(packet, 12..<afterName, of: domainName), name: domainName,
            type: RecordType(rawValue: type), recordClass: recordClass, edns: edns))
    }

    /// The client's wire name when `name.appendWire` would not give it back: it has upper case (a label
    /// length is at most 63, so any byte that lower-casing changes is a letter), or escapes made the
    /// presentation form longer than plain labels would.
    static func spelling(_ packet: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, of name: DomainName) -> [UInt8]? {
        let lowerCase = !packet[range].contains { asciiLowercased($0) != $0 }
        return lowerCase && name.wireCount == range.count ? nil : Array(packet[range])
    }

    public static func parse(_ packet: [UInt8]) -> QueryParse {
        packet.withUnsafeBufferPointer { parse($0) }
    }
}
