import DNSWire
import Testing

@Suite struct ReplyWriterTests {
    func query(_ type: RecordType, edns: EDNS? = nil) -> Query {
        let packet = header(id: 0xBEEF, ar: edns == nil ? 0 : 1) + wireName(["Tracking", "MIUI", "com"])
            + [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 1] + (edns == nil ? [] : optRecord)
        guard case .query(let query) = QueryParser.parse(packet) else { fatalError("test query did not parse") }
        return query
    }

    @Test func blockedAnswerParsesInLdnsWithEDE() throws {
        let answer = SynthesizedAnswer(
            rcode: .noError, records: [SynthesizedRecord(type: .a, ttl: 300, rdata: [0, 0, 0, 0])],
            extendedError: ExtendedError(code: 15, text: "blocked by xiaomi.txt"))
        let wire = ReplyWriter.synthesized(answer, for: query(.a, edns: EDNS()), limit: 1232)
        let message = try LDNSMessage(wire: wire)
        #expect(message.id == 0xBEEF)
        #expect(message.isResponse && message.recursionAvailable && message.recursionDesired)
        #expect(message.rcode == .noError)
        #expect(message.answers.count == 1)
        #expect(message.answers.first?.data == "0.0.0.0")
        #expect(message.answers.first?.ttl == 300)
        #expect(message.ednsUDPSize == 1232)
        // Option 15, length 2 + text, info code 15.
        let data = message.ednsData
        #expect(Array(data.prefix(6)) == [0, 15, 0, UInt8(2 + 21), 0, 15])
        #expect(String(decoding: data.dropFirst(6), as: UTF8.self) == "blocked by xiaomi.txt")
        // The question comes back byte for byte.
        #expect(Array(wire[12..<(12 + 19)]) == wireName(["Tracking", "MIUI", "com"]))
    }

    @Test func nodataCarriesSOAAndNoOPTWithoutEDNS() throws {
        let answer = SynthesizedAnswer(rcode: .nxDomain, negativeSOA: NegativeSOA(ttl: 120))
        let wire = ReplyWriter.synthesized(answer, for: query(.https), limit: 512)
        let message = try LDNSMessage(wire: wire)
        #expect(message.rcode == .nxDomain)
        #expect(message.authorityCount == 1)
        #expect(!message.hasEDNS)
    }

    @Test func oversizedReplyIsTruncated() throws {
        let records = (0..<60).map { SynthesizedRecord(type: .a, ttl: 60, rdata: [10, 0, 0, UInt8($0)]) }
        let wire = ReplyWriter.synthesized(SynthesizedAnswer(rcode: .noError, records: records), for: query(.a), limit: 512)
        let message = try LDNSMessage(wire: wire)
        #expect(message.isTruncated)
        #expect(message.answerCount == 0)
        #expect(wire.count <= 512)
        let whole = try LDNSMessage(wire: ReplyWriter.synthesized(SynthesizedAnswer(rcode: .noError, records: records), for: query(.a), limit: 65_535))
        #expect(whole.answerCount == 60 && !whole.isTruncated)
    }

    @Test func badversCarriesExtendedRcode() throws {
        let packet = header(ar: 1) + wireName(["a"]) + [0, 1, 0, 1] + [0, 0, 41, 4, 0, 0, 1, 0, 0, 0, 0]
        guard case .reject(let rejected) = QueryParser.parse(packet) else { Issue.record("not rejected"); return }
        let message = try LDNSMessage(wire: ReplyWriter.reject(rejected))
        #expect(message.rcode == .badVers)
        #expect(message.ednsVersion == 0)
    }

    @Test func storedMessageTTLsCountDownAndIDIsTheClients() throws {
        // An upstream reply with two answers and an OPT, as if from upstream.
        let q = query(.a, edns: EDNS())
        let upstream = header(id: 77, flags: 0x8180, an: 2, ar: 1) + wireName(["tracking", "miui", "com"]) + [0, 1, 0, 1]
            + [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 100, 0, 4, 1, 2, 3, 4]
            + [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 50, 0, 4, 1, 2, 3, 5] + optRecord
        let stored = try StoredMessage(upstreamReply: upstream, expectedID: 77, question: q)
        #expect(stored.cacheTTL == 50)
        let wire = ReplyWriter.stored(stored, for: q, age: 10, ttlCap: 60, limit: 1232)
        let message = try LDNSMessage(wire: wire)
        #expect(message.id == 0xBEEF)
        #expect(message.answers.map(\.ttl) == [50, 40])
        #expect(message.ednsUDPSize == 1232)
        #expect(message.additionalCount == 0, "ldns counts OPT apart from the additional section")
        #expect(Array(wire[12..<31]) == q.nameWire)
    }

    /// The UDP loop appends a turn's replies to one buffer: each must come out exactly as written alone,
    /// a stored one patched at its own offset and an oversized one cut back to its truncated form.
    @Test func repliesAppendedToOneBufferMatchTheirStandaloneForms() throws {
        let q = query(.a, edns: EDNS())
        let upstream = header(id: 77, flags: 0x8180, an: 1) + wireName(["tracking", "miui", "com"]) + [0, 1, 0, 1]
            + [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 100, 0, 4, 1, 2, 3, 4]
        let stored = try StoredMessage(upstreamReply: upstream, expectedID: 77, question: q)
        let blocked = SynthesizedAnswer(
            rcode: .noError, records: [SynthesizedRecord(type: .a, ttl: 300, rdata: [0, 0, 0, 0])],
            extendedError: ExtendedError(code: 15, text: "blocked by xiaomi.txt"))
        let oversized = SynthesizedAnswer(rcode: .noError, records: (0..<60).map {
            SynthesizedRecord(type: .a, ttl: 60, rdata: [10, 0, 0, UInt8($0)])
        })
        let alone = [
            ReplyWriter.synthesized(blocked, for: q, limit: 1232),
            ReplyWriter.stored(stored, for: q, age: 30, limit: 1232),
            ReplyWriter.synthesized(oversized, for: query(.a), limit: 512),
            ReplyWriter.stored(stored, for: q, age: 5, ttlCap: 60, limit: 1232),
        ]
        var buffer: [UInt8] = [0xAA, 0xBB]
        var lengths: [Int] = []
        for index in alone.indices {
            let start = buffer.count
            switch index {
            case 0: ReplyWriter.synthesized(blocked, for: q, limit: 1232, appendingTo: &buffer)
            case 1: ReplyWriter.stored(stored, for: q, age: 30, limit: 1232, appendingTo: &buffer)
            case 2: ReplyWriter.synthesized(oversized, for: query(.a), limit: 512, appendingTo: &buffer)
            default: ReplyWriter.stored(stored, for: q, age: 5, ttlCap: 60, limit: 1232, appendingTo: &buffer)
            }
            lengths.append(buffer.count - start)
        }
        #expect(Array(buffer[0..<2]) == [0xAA, 0xBB], "what was there before is untouched")
        var offset = 2
        for (index, length) in lengths.enumerated() {
            #expect(Array(buffer[offset..<(offset + length)]) == alone[index], "reply \(index)")
            offset += length
        }
        #expect(try LDNSMessage(wire: alone[2]).isTruncated)
        #expect(try LDNSMessage(wire: alone[3]).answers.map(\.ttl) == [55])
    }

    @Test func upstreamRepliesAreCheckedBeforeLdns() {
        let q = query(.a)
        let good = header(id: 9, flags: 0x8180) + wireName(["tracking", "miui", "com"]) + [0, 1, 0, 1]
        #expect(throws: WireError.idMismatch) { try StoredMessage(upstreamReply: good, expectedID: 10, question: q) }
        let other = header(id: 9, flags: 0x8180) + wireName(["other", "com"]) + [0, 1, 0, 1]
        #expect(throws: WireError.questionMismatch) { try StoredMessage(upstreamReply: other, expectedID: 9, question: q) }
        let notResponse = header(id: 9) + wireName(["tracking", "miui", "com"]) + [0, 1, 0, 1]
        #expect(throws: WireError.notAResponse) { try StoredMessage(upstreamReply: notResponse, expectedID: 9, question: q) }
        let loop = header(id: 9, flags: 0x8180, an: 1) + wireName(["tracking", "miui", "com"]) + [0, 1, 0, 1]
            + [0xC0, 0x23, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]
        #expect(throws: WireError.badPointer) { try StoredMessage(upstreamReply: loop, expectedID: 9, question: q) }
        #expect(throws: WireError.trailingBytes) { try StoredMessage(upstreamReply: good + [0], expectedID: 9, question: q) }
    }
}
