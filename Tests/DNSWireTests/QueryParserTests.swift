import DNSWire
import Testing

@Suite struct QueryParserTests {
    func expectReject(_ packet: [UInt8], _ rcode: RCode, sourceLocation: SourceLocation = #_sourceLocation) {
        guard case .reject(let rejected) = QueryParser.parse(packet) else {
            Issue.record("expected \(rcode), got \(QueryParser.parse(packet))", sourceLocation: sourceLocation)
            return
        }
        #expect(rejected.rcode == rcode, sourceLocation: sourceLocation)
    }

    @Test func readsAPlainQueryKeepingLetterCase() throws {
        let packet = header() + wireName(["WwW", "Example", "COM"]) + [0, 1, 0, 1]
        guard case .query(let query) = QueryParser.parse(packet) else { Issue.record("not parsed"); return }
        #expect(query.id == 0x1234)
        #expect(query.recursionDesired)
        #expect(query.name.description == "www.example.com")
        #expect(query.nameWire == wireName(["WwW", "Example", "COM"]))
        #expect(query.type == .a)
        #expect(query.edns == nil)
        #expect(query.udpReplyLimit == 512)
    }

    @Test func everySpellingOfTheNameIsEchoedAndSentUpstreamInLowerCase() {
        let escaped: [UInt8] = [3, 97, 46, 98, 4, 116, 101, 115, 116, 0]   // the label "a.b", then "test"
        for name in [wireName(["www", "example", "com"]), wireName(["WwW", "Example", "COM"]), escaped, [0]] {
            let packet = header() + name + [0, 1, 0, 1]
            guard case .query(let query) = QueryParser.parse(packet) else { Issue.record("not parsed: \(name)"); continue }
            #expect(query.nameWire == name)
            let reply = ReplyWriter.synthesized(SynthesizedAnswer(rcode: .noError), for: query, limit: 512)
            #expect(Array(reply[12..<(12 + name.count)]) == name, "the question as the client wrote it")
            let upstream = UpstreamQuery.wire(id: 9, for: query)
            #expect(Array(upstream[12..<(12 + name.count)]) == name.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 })
        }
    }

    @Test func readsEDNS() {
        let packet = header(ar: 1) + wireName(["a", "b"]) + [0, 28, 0, 1] + [0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0, 0, 0]
        guard case .query(let query) = QueryParser.parse(packet) else { Issue.record("not parsed"); return }
        #expect(query.edns == EDNS(udpSize: 4096, version: 0, dnssecOK: true))
        #expect(query.udpReplyLimit == 1232, "never above 1232, to avoid fragments")
    }

    @Test func dropsResponsesAndRunts() {
        let response = header(flags: 0x8180) + wireName(["a"]) + [0, 1, 0, 1]
        guard case .drop = QueryParser.parse(response) else { Issue.record("QR=1 must be dropped"); return }
        guard case .drop = QueryParser.parse([1, 2, 3]) else { Issue.record("short packet must be dropped"); return }
    }

    @Test func rejectsWhatLdnsLetsThrough() {
        let question = wireName(["a", "b"]) + [0, 1, 0, 1]
        expectReject(header(flags: 0x2800) + question, .notImp)                        // opcode 5 (UPDATE)
        expectReject(header(qd: 2) + question + question, .formErr)
        expectReject(header(qd: 0), .formErr)
        expectReject(header(ar: 2) + question + optRecord + optRecord, .formErr)       // two OPT
        expectReject(header() + question + [0xFF, 0xFF], .formErr)                     // trailing bytes
        expectReject(header() + wireName(["a"]) + [0, 1], .formErr)                     // truncated question
        expectReject(header(ar: 1) + question + [0, 0, 41, 4, 0, 0, 1, 0, 0, 0, 0], .badVers)
    }

    @Test func rejectsBadNames() {
        let long = String(repeating: "x", count: 64)
        expectReject(header() + wireName([long, "com"]) + [0, 1, 0, 1], .formErr)
        let labels = Array(repeating: String(repeating: "y", count: 60), count: 5)  // 305 bytes
        expectReject(header() + wireName(labels) + [0, 1, 0, 1], .formErr)
        // A compression pointer in the question can only point into the header.
        expectReject(header() + [0xC0, 0x00, 0, 1, 0, 1], .formErr)
        // Extended label types 0x40 / 0x80.
        expectReject(header() + [0x41, 0x61, 0, 0, 1, 0, 1], .formErr)
    }

    @Test func pointerLoopsAreRejectedQuickly() {
        // The additional record starts at offset 21. Its name points to itself; then two names pointing at
        // each other; then a pointer forward. None may be followed.
        let question = wireName(["a", "b"]) + [0, 1, 0, 1]
        let selfLoop = header(ar: 1) + question + [0xC0, 0x15] + [0, 41, 4, 0, 0, 0, 0, 0, 0, 0]
        expectReject(selfLoop, .formErr)
        let pair = header(ar: 1) + question + [0x01, 0x61, 0xC0, 0x18, 0xC0, 0x15] + [0, 41, 4, 0, 0, 0, 0, 0, 0, 0]
        expectReject(pair, .formErr)
        let forward = header(ar: 1) + question + [0xC0, 0x20] + [0, 41, 4, 0, 0, 0, 0, 0, 0, 0]
        expectReject(forward, .formErr)
        // A pointer loop in an upstream reply is caught before ldns sees it.
        var loop = header(id: 1, flags: 0x8180, an: 1) + question
        loop += [0xC0, 0x15, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]
        guard case .query(let query) = QueryParser.parse(header(id: 1) + question) else { return }
        #expect(throws: WireError.badPointer) { try StoredMessage(upstreamReply: loop, expectedID: 1, question: query) }
    }

    @Test func queriesCarryOnlyOPTBesideTheQuestion() {
        let question = wireName(["a", "b"]) + [0, 1, 0, 1]
        expectReject(header(an: 1) + question + [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 1, 2, 3, 4], .formErr)
        expectReject(header(ar: 1) + question + [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 1, 2, 3, 4], .formErr)
        expectReject(header(ar: 1) + question + [1, 0x61, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0], .formErr)  // OPT not at root
    }

    @Test func agreesWithLdnsOnGeneratedQueries() throws {
        var random = SeededGenerator(seed: 20_261_122)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
        for _ in 0..<2000 {
            let labels = (0..<Int.random(in: 1...6, using: &random)).map { _ in
                String((0..<Int.random(in: 1...20, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            }
            let type = UInt16.random(in: 1...300, using: &random)
            let withEDNS = Bool.random(using: &random)
            let id = UInt16.random(in: 0...UInt16.max, using: &random)
            let packet = header(id: id, ar: withEDNS ? 1 : 0) + wireName(labels) + [UInt8(type >> 8), UInt8(type & 0xFF), 0, 1]
                + (withEDNS ? optRecord : [])
            guard case .query(let query) = QueryParser.parse(packet) else { Issue.record("rejected \(packet)"); continue }
            let ldns = try LDNSMessage(wire: packet)
            #expect(ldns.id == query.id)
            #expect(ldns.question?.name == query.name.description)
            #expect(ldns.question?.type == query.type)
            #expect(ldns.hasEDNS == (query.edns != nil))
            if withEDNS { #expect(ldns.ednsUDPSize == query.edns?.udpSize) }
        }
    }

    /// Mutated packets never crash the parser, and whatever it accepts ldns parses too.
    @Test func mutatedPacketsNeverCrashAndAcceptedOnesParseInLdns() {
        var random = SeededGenerator(seed: 7)
        let seeds: [[UInt8]] = [
            header(ar: 1) + wireName(["sa", "api", "intl", "miui", "com"]) + [0, 1, 0, 1] + optRecord,
            header() + wireName(["example", "org"]) + [0, 28, 0, 1],
            header(ar: 1) + wireName(["x"]) + [0, 1, 0, 1] + [0, 0, 41, 4, 0, 0, 0, 0x80, 0, 0, 8, 0, 10, 0, 4, 1, 2, 3, 4],
        ]
        var accepted = 0
        for _ in 0..<20_000 {
            var packet = seeds.randomElement(using: &random)!
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                switch Int.random(in: 0..<3, using: &random) {
                case 0: packet[Int.random(in: 0..<packet.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                case 1: packet.removeLast(min(packet.count - 1, Int.random(in: 1...3, using: &random)))
                default: packet.insert(UInt8.random(in: 0...255, using: &random), at: Int.random(in: 0...packet.count, using: &random))
                }
            }
            if case .query = QueryParser.parse(packet) {
                accepted += 1
                #expect((try? LDNSMessage(wire: packet)) != nil, "ldns refused what the fast parser accepted: \(packet)")
            }
        }
        #expect(accepted > 100)
    }
}
