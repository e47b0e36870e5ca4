/// Walks a (possibly compressed) wire name with the checks ldns does not make: a compression pointer must
/// point below the start of the run that contains it, so pointers can never loop, and the name stays within
/// 255 bytes and 127 labels. Returns the offset just past the name where it stands in the message.
@inline(__always)
func readName(
    _ message: UnsafeBufferPointer<UInt8>, at start: Int, allowPointers: Bool,
    presentation: inout [UInt8], collect: Bool
) throws(WireError) -> Int {
    var position = start
    var runStart = start
    var end = -1          // where the name ends in place, once a pointer was followed
    var wireLength = 1    // the root byte
    var hops = 0
    while true {
        guard position < message.count else { throw .truncated }
        let length = Int(message[position])
        switch length & 0xC0 {
        case 0x00:
            if length == 0 {
                return end >= 0 ? end : position + 1
            }
            wireLength += length + 1
            guard wireLength <= 255 else { throw .nameTooLong }
            guard position + 1 + length <= message.count else { throw .truncated }
            if collect {
                appendPresentationLabel(message, position + 1, length, to: &presentation)
            }
            position += 1 + length
        case 0xC0:
            guard allowPointers else { throw .badPointer }
            guard position + 1 < message.count else { throw .truncated }
            let target = (length & 0x3F) << 8 | Int(message[position + 1])
            guard target < runStart, hops < 127 else { throw .badPointer }
            hops += 1
            if end < 0 { end = position + 2 }
            position = target
            runStart = target
        default:
            throw .badLabelType
        }
    }
}

@inline(__always)
func readUInt16(_ message: UnsafeBufferPointer<UInt8>, _ offset: Int) -> UInt16 {
    UInt16(message[offset]) << 8 | UInt16(message[offset + 1])
}

@inline(__always)
func readUInt32(_ message: UnsafeBufferPointer<UInt8>, _ offset: Int) -> UInt32 {
    UInt32(message[offset]) << 24 | UInt32(message[offset + 1]) << 16
        | UInt32(message[offset + 2]) << 8 | UInt32(message[offset + 3])
}

@inline(__always)
func skipName(_ message: UnsafeBufferPointer<UInt8>, at start: Int) throws(WireError) -> Int {
    var unused: [UInt8] = []
    return try readName(message, at: start, allowPointers: true, presentation: &unused, collect: false)
}

/// One resource record's fixed fields as found by `readRecord`.
struct RecordFields {
    var nameStart: Int
    var type: UInt16
    var recordClass: UInt16
    var ttlOffset: Int
    var rdataOffset: Int
    var rdataLength: Int
    var end: Int { rdataOffset + rdataLength }
}

@inline(__always)
func readRecord(_ message: UnsafeBufferPointer<UInt8>, at start: Int) throws(WireError) -> RecordFields {
    let afterName = try skipName(message, at: start)
    guard afterName + 10 <= message.count else { throw .truncated }
    let rdataLength = Int(readUInt16(message, afterName + 8))
    guard afterName + 10 + rdataLength <= message.count else { throw .truncated }
    return RecordFields(
        nameStart: start, type: readUInt16(message, afterName), recordClass: readUInt16(message, afterName + 2),
        ttlOffset: afterName + 4, rdataOffset: afterName + 10, rdataLength: rdataLength)
}
