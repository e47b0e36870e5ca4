import DNSWire

/// Answers ANY queries with one synthesized HINFO record (RFC 8482) instead of everything a name has:
/// ANY is rarely wanted by real clients and was the favourite query of amplification attacks.
public struct MinimalAnyHandler: Resolving {
    let next: any Resolving

    public init(next: any Resolving) {
        self.next = next
    }

    /// HINFO "RFC8482" "".
    static let rdata: [UInt8] = [7] + Array("RFC8482".utf8) + [0]

    public func resolve(_ request: Request) -> Resolution {
        guard request.query.type == .any else { return next.resolve(request) }
        return .now(.synthesized(
            SynthesizedAnswer(rcode: .noError, records: [SynthesizedRecord(type: RecordType(rawValue: 13), ttl: 3600, rdata: Self.rdata)]),
            .minimalAny))
    }
}
