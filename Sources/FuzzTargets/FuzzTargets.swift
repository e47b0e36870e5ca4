import Blocklist
import DNSWire
import HushApp
import Resolver
import Server
import Sockets

/// What the fuzzers drive, shared by the libFuzzer binary (fuzz/) and the test that replays the corpus
/// and every crasher found so far. Each target must never crash, and every reply must be a DNS message
/// ldns parses.
public enum FuzzTargets {
    /// Input: 2-byte length, a client packet, then an upstream reply. The packet goes through the real
    /// stages (blocking, cache, CNAME uncloaking) with a stub upstream that answers with the reply bytes.
    public static func query(_ input: UnsafeRawBufferPointer) {
        let bytes = Array(input)
        guard bytes.count >= 2 else { return }
        let length = min(Int(bytes[0]) << 8 | Int(bytes[1]), bytes.count - 2)
        let packet = Array(bytes[2..<(2 + length)])
        let upstreamReply = Array(bytes[(2 + length)...])
        let chain = BlockingHandler(
            lists: lists, policy: BlockPolicy(),
            next: CacheHandler(cache: AnswerCache(maxBytes: 1 << 20), settings: .init(), next: StubUpstream(reply: upstreamReply)))
        let processor = QueryProcessor(resolver: MinimalAnyHandler(next: chain))
        for transport in [Request.Transport.udp, .tcp, .tls] {
            packet.withUnsafeBufferPointer { buffer in
                processor.process(buffer, client: .v4(0x7F00_0001), transport: transport)?.whenReady { reply in
                    guard !reply.isEmpty else { return }
                    if (try? LDNSMessage(wire: reply)) == nil { fatalError("Hush wrote a reply ldns cannot parse: \(reply)") }
                    if transport == .udp, case .query(let query) = QueryParser.parse(packet), reply.count > query.udpReplyLimit {
                        fatalError("a UDP reply of \(reply.count) bytes exceeds the client's limit")
                    }
                }
            }
        }
    }

    /// Input: list text. Parsing never stops on a bad line and the rules it keeps match themselves.
    public static func list(_ input: UnsafeRawBufferPointer) {
        var rules = RuleSets()
        let outcome = ListParser.parse(Array(input), source: "fuzz", listIndex: 0, purpose: .block, into: &rules)
        rules.seal()
        _ = ListSet(lists: [ListInfo(source: "fuzz")], rules: rules).verdict(for: Array(input.prefix(255)))
        _ = outcome
    }

    /// Input: config text. Either a config or a located error, never a crash.
    public static func config(_ input: UnsafeRawBufferPointer) {
        _ = try? HushConfig.parse(text: String(decoding: input, as: UTF8.self), path: "fuzz.toml")
    }

    public static func run(_ target: String, _ input: UnsafeRawBufferPointer) {
        switch target {
        case "list": list(input)
        case "config": config(input)
        default: query(input)
        }
    }

    static let lists: ListStore = {
        var rules = RuleSets()
        _ = ListParser.parse(Array("tracker.test\n*.wild.test\nsa.api.intl.miui.com\n||log*-normal-*.fuzz.test^\n/^rt[0-9]+\\.fuzz\\.test$/\n".utf8),
                             source: "fuzz.txt", listIndex: 0, purpose: .block, into: &rules)
        _ = ListParser.parse(Array("ok.tracker.test\n".utf8), source: "allow.txt", listIndex: 1, purpose: .allow, into: &rules)
        rules.seal()
        return ListStore(ListSet(lists: [ListInfo(source: "fuzz.txt"), ListInfo(source: "allow.txt", purpose: .allow)], rules: rules))
    }()

    /// Answers every forwarded query with the fuzzed reply, taking the reply's own ID as the expected one
    /// so that the rest of the checks (question, records, ldns) are what the fuzzer explores.
    struct StubUpstream: Resolving {
        let reply: [UInt8]
        func resolve(_ request: Request) -> Resolution {
            let id = reply.count >= 2 ? UInt16(reply[0]) << 8 | UInt16(reply[1]) : 0
            if let message = try? StoredMessage(upstreamReply: reply, expectedID: id, question: request.query) {
                return .now(Answer(.stored(ServedMessage(message: message)), .forwarded(upstream: "stub", latency: 0)))
            }
            return .now(.synthesized(SynthesizedAnswer(rcode: .servFail), .failed(reason: "bad reply")))
        }
    }
}
