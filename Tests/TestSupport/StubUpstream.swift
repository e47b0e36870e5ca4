import Dispatch
import DNSWire
import Foundation
import Glibc
import Sockets
import Synchronization

/// A small authoritative DNS server for tests, on 127.0.0.1 with a kernel-chosen port, over UDP and TCP.
/// It answers from the records it is given and can be told to misbehave.
public final class StubUpstream: @unchecked Sendable {
    public enum Behaviour: Sendable, Equatable {
        case answer
        case silent
        case garbage
        case wrongID
        case wrongQuestion
        /// Over UDP, an empty reply with TC=1; the full answer only over TCP.
        case truncateUDP
        case delay(milliseconds: Int)
    }

    public struct Record: Sendable {
        public var type: RecordType
        public var ttl: UInt32
        public var rdata: [UInt8]
        /// For CNAME records, the target (so the stub can follow it).
        public var target: String?

        public static func a(_ text: String, ttl: UInt32 = 300) -> Record {
            guard case .v4(let value)? = IPAddress(text) else { fatalError("bad IPv4 \(text)") }
            return Record(type: .a, ttl: ttl, rdata: withUnsafeBytes(of: value.bigEndian) { Array($0) })
        }

        public static func cname(_ target: String, ttl: UInt32 = 300) -> Record {
            Record(type: .cname, ttl: ttl, rdata: DomainName(target).wire, target: target.lowercased())
        }

        public static func txt(_ text: String, ttl: UInt32 = 300) -> Record {
            let bytes = Array(text.utf8.prefix(255))
            return Record(type: .txt, ttl: ttl, rdata: [UInt8(bytes.count)] + bytes)
        }
    }

    private struct State {
        var records: [String: [Record]] = [:]
        var behaviour: Behaviour = .answer
        var queries: [String] = []
        var sourcePorts: Set<UInt16> = []
        var negativeTTL: UInt32 = 60
    }

    private let state = Mutex(State())
    public let address: SocketAddress
    private let udpFD: Int32
    private let tcpFD: Int32
    private let queue = DispatchQueue(label: "stub-upstream")
    private var sources: [DispatchSourceRead] = []

    public init() throws {
        var udp: Int32 = -1
        var tcp: Int32 = -1
        var bound = SocketAddress(ip: .v4(0x7F00_0001), port: 0)
        for _ in 0..<20 {
            udp = try Socket.bind(SocketAddress(ip: .v4(0x7F00_0001), port: 0), type: Socket.udp)
            bound = Socket.localAddress(udp)!
            if let fd = try? Socket.bind(bound, type: Socket.tcp) { tcp = fd; break }
            close(udp)
        }
        precondition(tcp >= 0, "no port for the stub upstream")
        udpFD = udp
        tcpFD = tcp
        address = bound
        let udpSource = DispatchSource.makeReadSource(fileDescriptor: udpFD, queue: queue)
        udpSource.setEventHandler { [unowned self] in serveUDP() }
        udpSource.setCancelHandler { [udp] in close(udp) }
        let tcpSource = DispatchSource.makeReadSource(fileDescriptor: tcpFD, queue: queue)
        tcpSource.setEventHandler { [unowned self] in acceptTCP() }
        tcpSource.setCancelHandler { [tcp] in close(tcp) }
        sources = [udpSource, tcpSource]
        udpSource.resume()
        tcpSource.resume()
    }

    deinit { stop() }

    public func stop() {
        for source in sources { source.cancel() }
        sources = []
    }

    /// Closes the TCP side only: a truncated reply then cannot be fetched over TCP.
    public func stopTCP() {
        sources.last?.cancel()
    }

    public func add(_ name: String, _ records: Record...) {
        state.withLock { $0.records[name.lowercased(), default: []] += records }
    }

    public func set(_ behaviour: Behaviour) {
        state.withLock { $0.behaviour = behaviour }
    }

    /// Names asked so far, as "name TYPE", in order.
    public var queries: [String] { state.withLock { $0.queries } }

    /// The distinct UDP source ports questions came from.
    public var sourcePorts: Set<UInt16> { state.withLock { $0.sourcePorts } }

    public func queryCount(_ name: String) -> Int {
        queries.filter { $0.hasPrefix(name.lowercased() + " ") }.count
    }

    private func serveUDP() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while let (count, source) = Socket.receive(on: udpFD, into: &buffer) {
            guard let source else { continue }
            let behaviour = state.withLock { state in
                state.sourcePorts.insert(source.port)
                return state.behaviour
            }
            guard var reply = respond(to: Array(buffer[0..<count]), overTCP: false) else { continue }
            switch behaviour {
            case .silent: continue
            case .garbage: reply = [0xDE, 0xAD, 0xBE, 0xEF] + reply.prefix(5)
            case .wrongID: reply[0] ^= 0xFF
            case .delay(let milliseconds): usleep(useconds_t(milliseconds * 1000))
            default: break
            }
            _ = Socket.sendDatagram(reply, on: udpFD, to: source)
        }
    }

    private func acceptTCP() {
        let client = accept(tcpFD, nil, nil)
        guard client >= 0 else { return }
        Thread.detachNewThread { [self] in
            defer { close(client) }
            _ = hushTestSetTimeout(client, milliseconds: 2000)
            while let header = try? Socket.readExactly(client, 2) {
                guard let query = try? Socket.readExactly(client, Int(header[0]) << 8 | Int(header[1])) else { return }
                if state.withLock({ $0.behaviour }) == .silent { return }
                guard let reply = respond(to: query, overTCP: true) else { return }
                try? Socket.writeAll(client, [UInt8(reply.count >> 8), UInt8(reply.count & 0xFF)] + reply)
            }
        }
    }

    /// Builds the answer for a query, following CNAMEs among its own records.
    func respond(to query: [UInt8], overTCP: Bool) -> [UInt8]? {
        guard case .query(let parsed) = QueryParser.parse(query) else { return nil }
        let name = parsed.name.description
        let (records, behaviour, negativeTTL) = state.withLock { state in
            state.queries.append("\(name) \(parsed.type)")
            return (state.records, state.behaviour, state.negativeTTL)
        }
        var out: [UInt8] = []
        func u16(_ v: Int) { out.append(UInt8(v >> 8 & 0xFF)); out.append(UInt8(v & 0xFF)) }
        func u32(_ v: UInt32) { u16(Int(v >> 16)); u16(Int(v & 0xFFFF)) }
        var answer: [(owner: String, record: Record)] = []
        var current = name
        var rcode = 0
        for _ in 0..<8 {
            let here = records[current] ?? []
            if parsed.type != .cname, let cname = here.first(where: { $0.type == .cname }) {
                answer.append((current, cname))
                current = cname.target!
                continue
            }
            answer += here.filter { parsed.type == .any || $0.type == parsed.type }.map { (current, $0) }
            if here.isEmpty, answer.isEmpty { rcode = 3 }
            break
        }
        let truncate = behaviour == .truncateUDP && !overTCP
        let questionName = behaviour == .wrongQuestion ? DomainName("wrong.invalid").wire : parsed.nameWire
        u16(Int(parsed.id))
        out.append(0x84 | (truncate ? 0x02 : 0) | (parsed.recursionDesired ? 1 : 0))
        out.append(UInt8(rcode))
        let negative = answer.isEmpty && !truncate
        u16(1); u16(truncate ? 0 : answer.count); u16(negative ? 1 : 0); u16(parsed.edns == nil ? 0 : 1)
        out += questionName
        u16(Int(parsed.type.rawValue)); u16(Int(parsed.recordClass))
        if !truncate {
            for (owner, record) in answer {
                out += owner == name ? [0xC0, 0x0C] : DomainName(owner).wire
                u16(Int(record.type.rawValue)); u16(1); u32(record.ttl); u16(record.rdata.count)
                out += record.rdata
            }
        }
        if negative {
            out += [0xC0, 0x0C]
            u16(Int(RecordType.soa.rawValue)); u16(1); u32(negativeTTL)
            let soa: [UInt8] = DomainName("ns.test").wire + DomainName("admin.test").wire
            u16(soa.count + 20)
            out += soa
            for value: UInt32 in [1, 3600, 600, 86400, negativeTTL] { u32(value) }
        }
        if parsed.edns != nil {
            out += [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]
        }
        return out
    }
}
