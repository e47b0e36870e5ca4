/// The query Hush sends upstream: a fresh random ID, the question in lower case, RD set, and EDNS
/// advertising 1232 bytes; padded to a multiple of 128 bytes when it goes over an encrypted connection.
public enum UpstreamQuery {
    public static func wire(id: UInt16, for query: Query, padded: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(query.nameWireCount + 27)
        out.appendUInt16(id)
        out.append(0x01)                                  // RD
        out.append(query.checkingDisabled ? 0x10 : 0)
        out.appendUInt16(1)
        out.appendUInt16(0)
        out.appendUInt16(0)
        out.appendUInt16(1)
        let nameStart = out.count
        query.appendNameWire(to: &out)
        for i in nameStart..<out.count { out[i] = asciiLowercased(out[i]) }
        out.appendUInt16(query.type.rawValue)
        out.appendUInt16(query.recordClass)
        out.append(0)
        out.appendUInt16(RecordType.opt.rawValue)
        out.appendUInt16(UInt16(EDNS.advertisedUDPSize))
        out.appendUInt32(0)
        out.appendUInt16(0)
        if padded { EDNSOptions.append(to: &out, padBlock: EDNSOptions.queryBlock) }
        return out
    }
}
