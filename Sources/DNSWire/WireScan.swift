/// Checks made on an upstream reply before ldns sees it: bounds, names without pointer loops, QR set,
/// the ID and the question we asked (RFC 5452), and nothing after the last record.
public enum WireScan {
    public static func checkReply(_ reply: [UInt8], expectedID: UInt16, question: Query) throws(WireError) {
        try reply.withUnsafeBufferPointer { message throws(WireError) in
            guard message.count >= 12 else { throw .truncated }
            guard message[2] & 0x80 != 0 else { throw .notAResponse }
            guard readUInt16(message, 0) == expectedID else { throw .idMismatch }
            guard readUInt16(message, 4) == 1 else { throw .questionMismatch }
            var name: [UInt8] = []
            var position = try readName(message, at: 12, allowPointers: false, presentation: &name, collect: true)
            guard position + 4 <= message.count else { throw .truncated }
            guard name == question.name.bytes,
                  readUInt16(message, position) == question.type.rawValue,
                  readUInt16(message, position + 2) == question.recordClass else { throw .questionMismatch }
            position += 4
            let total = Int(readUInt16(message, 6)) + Int(readUInt16(message, 8)) + Int(readUInt16(message, 10))
            var optCount = 0
            for _ in 0..<total {
                let record = try readRecord(message, at: position)
                if record.type == RecordType.opt.rawValue { optCount += 1 }
                position = record.end
            }
            guard optCount <= 1 else { throw .duplicateOPT }
            guard position == message.count else { throw .trailingBytes }
        }
    }
}
