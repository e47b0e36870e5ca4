import DNSWire
import Sockets

/// Finds a DoH server's address by asking plain DNS servers directly, so Hush never asks itself (which
/// would need the very upstream it is trying to reach).
enum Bootstrap {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func lookup(_ host: String, using servers: [SocketAddress], timeoutMilliseconds: Int) throws -> IPAddress {
        if let literal = IPAddress(host) { return literal }
        guard !servers.isEmpty else {
            throw Failure(description: "no address for \(host): give one (https://\(host)/dns-query#ADDRESS) or set upstream.bootstrap")
        }
        var problems: [String] = []
        for server in servers {
            for type in [RecordType.a, .aaaa] {
                let id = UInt16.random(in: 0...UInt16.max)
                let query = Query(id: id, nameWire: DomainName(host).wire, name: DomainName(host), type: type)
                do {
                    let reply = try LDNSMessage(wire: try Socket.tcpExchange(UpstreamQuery.wire(id: id, for: query), with: server,
                                                                          timeoutMilliseconds: timeoutMilliseconds))
                    guard reply.id == id else { throw Failure(description: "reply with the wrong ID") }
                    if let address = reply.answers.lazy.filter({ $0.type == type }).compactMap({ IPAddress($0.data) }).first {
                        return address
                    }
                } catch {
                    problems.append("\(server): \(error)")
                }
            }
        }
        throw Failure(description: "no address for \(host) from the bootstrap servers\(problems.isEmpty ? "" : " (\(problems.joined(separator: "; ")))")")
    }
}
