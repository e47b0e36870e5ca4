/// The EDNS options Hush reads from queries and adds to messages on connections: TCP keepalive
/// (RFC 7828) and padding (RFC 7830) with the block-length policy of RFC 8467, which hides a query's
/// name length from whoever watches an encrypted connection.
public enum EDNSOptions {
    static let keepaliveCode: UInt16 = 11
    static let paddingCode: UInt16 = 12
    /// RFC 8467: clients pad queries to a multiple of 128 bytes, servers replies to a multiple of 468.
    public static let queryBlock = 128
    public static let replyBlock = 468

    /// Notes the options Hush acts on from a query's OPT data; a malformed option list is an error.
    static func read(_ packet: UnsafeBufferPointer<UInt8>, _ rdata: Range<Int>, into edns: inout EDNS) throws(WireError) {
        var position = rdata.lowerBound
        while position < rdata.upperBound {
            guard position + 4 <= rdata.upperBound else { throw .badOPT }
            let code = readUInt16(packet, position)
            let length = Int(readUInt16(packet, position + 2))
            guard position + 4 + length <= rdata.upperBound else { throw .badOPT }
            if code == keepaliveCode { edns.keepalive = true }
            if code == paddingCode { edns.padding = true }
            position += 4 + length
        }
    }

    /// Adds options to the OPT record that ends `message[start...]` (Hush writes OPT last): a keepalive
    /// timeout in seconds, and padding up to a multiple of `padBlock`. Does nothing to a message without OPT.
    public static func append(to message: inout [UInt8], from start: Int = 0, keepaliveSeconds: Int? = nil, padBlock: Int? = nil) {
        guard let rdlengthOffset = optRDLengthOffset(message, from: start) else { return }
        var added: [UInt8] = []
        if let keepaliveSeconds {
            added.appendUInt16(keepaliveCode)
            added.appendUInt16(2)
            added.appendUInt16(UInt16(clamping: keepaliveSeconds * 10))   // units of 100 ms
        }
        if let padBlock {
            let unpadded = message.count - start + added.count + 4
            let fill = (padBlock - unpadded % padBlock) % padBlock
            added.appendUInt16(paddingCode)
            added.appendUInt16(UInt16(fill))
            added.append(contentsOf: repeatElement(0, count: fill))
        }
        let length = (Int(message[rdlengthOffset]) << 8 | Int(message[rdlengthOffset + 1])) + added.count
        guard length <= Int(UInt16.max), message.count - start + added.count <= 65_535 else { return }
        message[rdlengthOffset] = UInt8(length >> 8)
        message[rdlengthOffset + 1] = UInt8(length & 0xFF)
        message.append(contentsOf: added)
    }

    /// Where the OPT record's RDLENGTH sits, when the message's last record is an OPT.
    static func optRDLengthOffset(_ message: [UInt8], from start: Int) -> Int? {
        message.withUnsafeBufferPointer { whole -> Int? in
            let message = UnsafeBufferPointer(rebasing: whole[start...])
            guard message.count >= 12, readUInt16(message, 10) > 0 else { return nil }
            do {
                var position = 12
                for _ in 0..<readUInt16(message, 4) { position = try skipName(message, at: position) + 4 }
                let records = Int(readUInt16(message, 6)) + Int(readUInt16(message, 8)) + Int(readUInt16(message, 10))
                var last: RecordFields?
                for _ in 0..<records {
                    last = try readRecord(message, at: position)
                    position = last!.end
                }
                guard let last, last.type == RecordType.opt.rawValue, last.end == message.count else { return nil }
                return start + last.rdataOffset - 2
            } catch {
                return nil
            }
        }
    }
}
