import DNSWire

/// Keeps ANY small over UDP (RFC 8482) without hiding what the name is. ANY goes upstream like any other
/// type; when the name exists and is not an alias, a UDP client gets one synthesized HINFO instead of
/// everything the name has, which was the favourite query of amplification attacks. NXDOMAIN, SERVFAIL,
/// NODATA and a CNAME pass through as they came (§4.2 allows the HINFO only where no CNAME exists), and
/// TCP clients, who cannot be spoofed, get the whole answer. It sits after blocking, so ANY for a blocked
/// name gets the blocked answer like every other type.
public struct MinimalAnyHandler: Resolving {
    let next: any Resolving

    public init(next: any Resolving) {
        self.next = next
    }

    /// HINFO "RFC8482" "".
    static let rdata: [UInt8] = [7] + Array("RFC8482".utf8) + [0]
    static let answer = SynthesizedAnswer(rcode: .noError, records: [SynthesizedRecord(type: .hinfo, ttl: 3600, rdata: rdata)])

    public func resolve(_ request: Request) -> Resolution {
        guard request.query.type == .any, request.transport == .udp else { return next.resolve(request) }
        return next.resolve(request).map(Self.minimal)
    }

    static func minimal(_ answer: Answer) -> Answer {
        guard case .stored(let served) = answer.content, served.message.rcode == .noError,
              served.message.answerCount > 0, served.message.cnameTargets.isEmpty else { return answer }
        return .synthesized(Self.answer, .minimalAny)
    }
}
