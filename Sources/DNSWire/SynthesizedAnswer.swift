/// An answer Hush makes itself (blocked names, refusals, failures). Its records are owned by the
/// question's name.
public struct SynthesizedAnswer: Sendable, Equatable {
    public var rcode: RCode
    public var records: [SynthesizedRecord]
    /// The SOA placed in the authority section of a negative answer (RFC 2308), so it can be cached.
    public var negativeSOA: NegativeSOA?
    /// An Extended DNS Error (RFC 8914), sent only to clients that sent EDNS.
    public var extendedError: ExtendedError?
    /// Sent as header and question with TC=1: "ask again over TCP" (a rate-limited UDP client).
    public var truncated: Bool

    public init(
        rcode: RCode, records: [SynthesizedRecord] = [], negativeSOA: NegativeSOA? = nil,
        extendedError: ExtendedError? = nil, truncated: Bool = false
    ) {
        self.rcode = rcode
        self.records = records
        self.negativeSOA = negativeSOA
        self.extendedError = extendedError
        self.truncated = truncated
    }
}

public struct SynthesizedRecord: Sendable, Equatable {
    public var type: RecordType
    public var ttl: UInt32
    public var rdata: [UInt8]

    public init(type: RecordType, ttl: UInt32, rdata: [UInt8]) {
        self.type = type
        self.ttl = ttl
        self.rdata = rdata
    }
}

/// The SOA of a synthesized negative answer; its owner is the question's name.
public struct NegativeSOA: Sendable, Equatable {
    public var ttl: UInt32
    public init(ttl: UInt32) { self.ttl = ttl }

    /// MNAME "hush.", RNAME "blocked.hush.", then serial, refresh, retry, expire, minimum.
    static let names: [UInt8] = [4, 104, 117, 115, 104, 0, 7, 98, 108, 111, 99, 107, 101, 100, 4, 104, 117, 115, 104, 0]
    static let timers: [UInt32] = [1, 3600, 600, 86400]
    static let rdataLength = names.count + 20

    func appendRdata(to out: inout [UInt8]) {
        out.append(contentsOf: Self.names)
        for value in Self.timers { out.appendUInt32(value) }
        out.appendUInt32(ttl)
    }
}

/// RFC 8914 Extended DNS Error.
public struct ExtendedError: Sendable, Equatable {
    public var code: UInt16
    /// The text is sent as `lead` then `detail`, so a fixed phrase and a name kept elsewhere make it
    /// without building a string for every answer.
    public var lead: String
    public var detail: String
    public var text: String { lead + detail }
    /// The bytes sent: at most 200, so the reply stays small.
    var textLength: Int { min(200, lead.utf8.count + detail.utf8.count) }

    public init(code: UInt16, text: String) {
        self.init(code: code, lead: text, detail: "")
    }

    public init(code: UInt16, lead: String, detail: String) {
        self.code = code
        self.lead = lead
        self.detail = detail
    }
    public static let blockedCode: UInt16 = 15
    public static let staleAnswerCode: UInt16 = 3
    public static let prohibitedCode: UInt16 = 18
    public static let noReachableAuthorityCode: UInt16 = 22
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendUInt16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    @inline(__always)
    mutating func appendUInt32(_ value: UInt32) {
        append(UInt8(value >> 24))
        append(UInt8(truncatingIfNeeded: value >> 16))
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }
}
