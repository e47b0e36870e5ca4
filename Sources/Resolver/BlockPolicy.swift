import Blocklist
import DNSWire

/// How a blocked name is answered.
public struct BlockPolicy: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        /// A → 0.0.0.0, AAAA → ::, every other type NODATA with an SOA.
        case null
        case nxdomain
        case refused
        /// A and AAAA answered with these addresses (4 and 16 bytes); a type without one gets NODATA.
        case address(v4: [UInt8]?, v6: [UInt8]?)
    }

    public var mode: Mode { didSet { records = Records(mode, ttl) } }
    /// Long enough that a retrying device calms down (a 0 s TTL made one TV ask 500 times in 2.5 minutes).
    public var ttl: UInt32 { didSet { records = Records(mode, ttl) } }
    /// The A and AAAA answers, made once rather than for every blocked query.
    private var records: Records

    public static let defaultTTL: UInt32 = 300

    public init(mode: Mode = .null, ttl: UInt32 = BlockPolicy.defaultTTL) {
        self.mode = mode
        self.ttl = ttl
        records = Records(mode, ttl)
    }

    private struct Records: Sendable, Equatable {
        var v4: [SynthesizedRecord]
        var v6: [SynthesizedRecord]

        init(_ mode: Mode, _ ttl: UInt32) {
            let (v4, v6): ([UInt8]?, [UInt8]?) = if case .address(let v4, let v6) = mode { (v4, v6) }
                else { ([0, 0, 0, 0], [UInt8](repeating: 0, count: 16)) }
            self.v4 = v4.map { [SynthesizedRecord(type: .a, ttl: ttl, rdata: $0)] } ?? []
            self.v6 = v6.map { [SynthesizedRecord(type: .aaaa, ttl: ttl, rdata: $0)] } ?? []
        }
    }

    public func answer(for query: Query, match: ListMatch, cname: String? = nil) -> SynthesizedAnswer {
        // The usual text is a fixed phrase and the list's own label: nothing to build per answer.
        let extendedError = cname.map {
            ExtendedError(code: ExtendedError.blockedCode, text: "blocked CNAME \($0) by \(match.list.label)")
        } ?? ExtendedError(code: ExtendedError.blockedCode, lead: "blocked by ", detail: match.list.label)
        func nodata() -> SynthesizedAnswer {
            SynthesizedAnswer(rcode: .noError, negativeSOA: NegativeSOA(ttl: ttl), extendedError: extendedError)
        }
        func address(_ records: [SynthesizedRecord]) -> SynthesizedAnswer {
            records.isEmpty ? nodata() : SynthesizedAnswer(rcode: .noError, records: records, extendedError: extendedError)
        }
        switch mode {
        case .nxdomain:
            return SynthesizedAnswer(rcode: .nxDomain, negativeSOA: NegativeSOA(ttl: ttl), extendedError: extendedError)
        case .refused:
            return SynthesizedAnswer(rcode: .refused, extendedError: extendedError)
        case .null, .address:
            switch query.type {
            case .a: return address(records.v4)
            case .aaaa: return address(records.v6)
            default: return nodata()
            }
        }
    }
}
