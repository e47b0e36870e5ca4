import CLDNS

/// The one owner of ldns packets. ldns pointers never leave this type; callers see Swift values.
public final class LDNSMessage {
    private let packet: UnsafeMutablePointer<ldns_pkt>

    /// Parses wire bytes with ldns. Callers run `WireScan` first: ldns follows compression loops for a long time.
    public init(wire: [UInt8]) throws(WireError) {
        var parsed: UnsafeMutablePointer<ldns_pkt>?
        let status = wire.withUnsafeBufferPointer { buffer in
            ldns_wire2pkt(&parsed, buffer.baseAddress, buffer.count)
        }
        guard status == LDNS_STATUS_OK, let parsed else {
            throw .ldns(String(cString: ldns_get_errorstr_by_id(status)))
        }
        packet = parsed
    }

    deinit { ldns_pkt_free(packet) }

    public var id: UInt16 { ldns_pkt_id(packet) }
    public var isResponse: Bool { ldns_pkt_qr(packet) }
    public var isTruncated: Bool { ldns_pkt_tc(packet) }
    public var recursionDesired: Bool { ldns_pkt_rd(packet) }
    public var recursionAvailable: Bool { ldns_pkt_ra(packet) }
    public var opcode: UInt8 { UInt8(ldns_pkt_get_opcode(packet).rawValue) }
    /// The 4-bit header RCODE combined with the extended bits from OPT.
    public var rcode: RCode {
        RCode(rawValue: UInt16(ldns_pkt_get_rcode(packet).rawValue) | UInt16(ldns_pkt_edns_extended_rcode(packet)) << 4)
    }
    public var hasEDNS: Bool { ldns_pkt_edns(packet) }
    public var ednsUDPSize: UInt16 { ldns_pkt_edns_udp_size(packet) }
    public var ednsVersion: UInt8 { ldns_pkt_edns_version(packet) }
    public var ednsDataLength: Int { ldns_pkt_edns_data(packet).map { ldns_rdf_size($0) } ?? 0 }
    public var questionCount: Int { Int(ldns_pkt_qdcount(packet)) }
    public var answerCount: Int { Int(ldns_pkt_ancount(packet)) }
    public var authorityCount: Int { Int(ldns_pkt_nscount(packet)) }
    public var additionalCount: Int { Int(ldns_pkt_arcount(packet)) }

    /// The question's name in lower-case presentation form, its type and class.
    public var question: (name: String, type: RecordType, recordClass: UInt16)? {
        guard let list = ldns_pkt_question(packet), ldns_rr_list_rr_count(list) > 0,
              let rr = ldns_rr_list_rr(list, 0) else { return nil }
        return (Self.text(ldns_rr_owner(rr)), RecordType(rawValue: UInt16(ldns_rr_get_type(rr).rawValue)),
                UInt16(ldns_rr_get_class(rr).rawValue))
    }

    /// The answer section as (owner, type, ttl, rdata in presentation form).
    public var answers: [(name: String, type: RecordType, ttl: UInt32, data: String)] {
        guard let list = ldns_pkt_answer(packet) else { return [] }
        return (0..<ldns_rr_list_rr_count(list)).compactMap { index in
            guard let rr = ldns_rr_list_rr(list, index) else { return nil }
            let data = (0..<ldns_rr_rd_count(rr)).map { Self.text(ldns_rr_rdf(rr, $0)) }.joined(separator: " ")
            return (Self.text(ldns_rr_owner(rr)), RecordType(rawValue: UInt16(ldns_rr_get_type(rr).rawValue)),
                    ldns_rr_ttl(rr), data)
        }
    }

    /// The EDNS option data (the OPT record's RDATA).
    public var ednsData: [UInt8] {
        guard let rdf = ldns_pkt_edns_data(packet), let data = ldns_rdf_data(rdf) else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: ldns_rdf_size(rdf)))
    }

    /// The message written again by ldns without its OPT record and with ID 0: the form Hush stores.
    public func canonicalWireWithoutEDNS() throws(WireError) -> [UInt8] {
        hush_ldns_pkt_strip_edns(packet)
        ldns_pkt_set_id(packet, 0)
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        let status = hush_ldns_pkt2wire(&output, packet, &size)
        guard status == LDNS_STATUS_OK, let output else {
            throw .ldns(String(cString: ldns_get_errorstr_by_id(status)))
        }
        defer { hush_ldns_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }

    private static func text(_ rdf: UnsafePointer<ldns_rdf>?) -> String {
        guard let rdf, let raw = ldns_rdf2str(rdf) else { return "" }
        defer { hush_ldns_free(raw) }
        var text = String(cString: raw).lowercased()
        if text.hasSuffix("."), text.count > 1 { text.removeLast() }
        return text
    }
}
