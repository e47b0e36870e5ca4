import Foundation
import Sockets

/// The system's nameservers, the default upstreams (as dnsmasq does), minus Hush's own listen addresses.
enum ResolvConf {
    static func nameservers(path: String = "/etc/resolv.conf", excluding own: [SocketAddress]) -> [SocketAddress] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver" else { return nil }
            let address = String(fields[1].split(separator: "%").first ?? fields[1])
            return SocketAddress(ip: IPAddress(address) ?? .v4(0), port: 53)
        }.filter { server in
            server.ip != .v4(0) && !own.contains(where: { $0.port == 53 && ($0.ip == server.ip) })
        }
    }
}
