import DNSWire
import Testing

@Suite struct EncryptedOptionsTests {
    static let name = DomainName("example.test")

    static func query(_ name: String, edns: EDNS? = EDNS()) -> Query {
        Query(id: 7, nameWire: DomainName(name).wire, name: DomainName(name), type: .a, edns: edns)
    }

    @Test func upstreamQueriesArePaddedToBlocksOf128() throws {
        for name in ["a.test", "a-much-longer-name.with.several.labels.example.test"] {
            let padded = UpstreamQuery.wire(id: 1, for: Self.query(name), padded: true)
            #expect(padded.count % EDNSOptions.queryBlock == 0)
            // Still a well-formed query, carrying the padding option.
            guard case .query(let parsed) = padded.withUnsafeBufferPointer({ QueryParser.parse($0) }) else {
                Issue.record("padded query did not parse")
                continue
            }
            #expect(parsed.edns?.padding == true && parsed.edns?.keepalive == false)
            let ldns = try LDNSMessage(wire: padded)
            #expect(ldns.ednsDataLength == padded.count - UpstreamQuery.wire(id: 1, for: Self.query(name)).count)
        }
    }

    @Test func repliesGainKeepaliveAndPaddingInTheirOPT() throws {
        let query = Self.query("example.test", edns: EDNS(keepalive: true, padding: true))
        var reply = ReplyWriter.synthesized(SynthesizedAnswer(rcode: .nxDomain), for: query, limit: 65_535)
        let before = reply.count
        EDNSOptions.append(to: &reply, keepaliveSeconds: 10, padBlock: EDNSOptions.replyBlock)
        #expect(reply.count == EDNSOptions.replyBlock && before < reply.count)
        let message = try LDNSMessage(wire: reply)
        #expect(message.rcode == .nxDomain && message.ednsData.starts(with: [0, 11, 0, 2, 0, 100, 0, 12]))
        // Without an OPT record there is nowhere to put options: the message is left as it was.
        var plain = ReplyWriter.synthesized(SynthesizedAnswer(rcode: .nxDomain), for: Self.query("example.test", edns: nil), limit: 512)
        let copy = plain
        EDNSOptions.append(to: &plain, keepaliveSeconds: 10, padBlock: 468)
        #expect(plain == copy)
    }

    @Test func aBrokenOptionListIsAFormatError() {
        var packet = UpstreamQuery.wire(id: 1, for: Self.query("a.test"))
        packet.replaceSubrange(packet.count - 2..<packet.count, with: [0, 3, 0, 12, 0])   // an option cut short
        guard case .reject(let rejected) = packet.withUnsafeBufferPointer({ QueryParser.parse($0) }) else {
            Issue.record("accepted a cut option")
            return
        }
        #expect(rejected.rcode == .formErr)
    }

    @Test func serviceBindingsAreWrittenInKeyOrder() {
        let binding = ServiceBinding(priority: 1, target: DomainName("hush.lan"), alpn: ["h2"], port: 443,
                                     ipv4Hints: [[192, 168, 1, 2]], dohPath: "/dns-query{?dns}")
        let expected: [UInt8] = [0, 1, 4] + Array("hush".utf8) + [3] + Array("lan".utf8) + [0]
            + [0, 1, 0, 3, 2] + Array("h2".utf8)
            + [0, 3, 0, 2, 1, 187]
            + [0, 4, 0, 4, 192, 168, 1, 2]
            + [0, 7, 0, 16] + Array("/dns-query{?dns}".utf8)
        #expect(binding.rdata == expected)
    }
}
