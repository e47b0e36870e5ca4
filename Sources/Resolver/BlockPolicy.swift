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

    public var mode: Mode
    /// Long enough that a retrying device calms down (a 0 s TTL made one TV ask 500 times in 2.5 minutes).
    public var ttl: UInt32

    public static let defaultTTL: UInt32 = 300

    public init(mode: Mode = .null, ttl: UInt32 = BlockPolicy.defaultTTL) {
        self.mode = mode
        self.ttl = ttl
    }

    public func answer(for query: Query, match: ListMatch, cname: String? = nil) -> SynthesizedAnswer {
        let text = cname.map { "blocked CNAME \($0) by \(match.list.label)" } ?? "blocked by \(match.list.label)"
        let extendedError = ExtendedError(code: ExtendedError.blockedCode, text: text)
        let nodata = SynthesizedAnswer(rcode: .noError, negativeSOA: NegativeSOA(ttl: ttl), extendedError: extendedError)
        func address(_ bytes: [UInt8]?, _ type: RecordType) -> SynthesizedAnswer {
            guard let bytes else { return nodata }
            return SynthesizedAnswer(
                rcode: .noError, records: [SynthesizedRecord(type: type, ttl: ttl, rdata: bytes)],
                extendedError: extendedError)
        }
        switch mode {
        case .nxdomain:
            return SynthesizedAnswer(rcode: .nxDomain, negativeSOA: NegativeSOA(ttl: ttl), extendedError: extendedError)
        case .refused:
            return SynthesizedAnswer(rcode: .refused, extendedError: extendedError)
        case .null, .address:
            let (v4, v6): ([UInt8]?, [UInt8]?) = if case .address(let v4, let v6) = mode { (v4, v6) }
                else { ([0, 0, 0, 0], [UInt8](repeating: 0, count: 16)) }
            switch query.type {
            case .a: return address(v4, .a)
            case .aaaa: return address(v6, .aaaa)
            default: return nodata
            }
        }
    }
}
