import DNSWire
import Foundation
import Glibc
import Sockets
import Testing
import TestSupport

@Suite struct TCPTests {
    @Test func answersPipelinedQueriesOnOneConnection() throws {
        let server = try TestServer()
        server.upstream.add("one.test", .a("10.0.0.1"))
        server.upstream.add("two.test", .a("10.0.0.2"))
        let queries = [DNSTestClient.query("one.test", id: 1), DNSTestClient.query("two.test", id: 2), DNSTestClient.query("one.test", id: 3)]
        let replies = try DNSTestClient.tcp(queries, to: server.address).map { try LDNSMessage(wire: $0) }
        #expect(Set(replies.map(\.id)) == [1, 2, 3])
        for reply in replies {
            #expect(reply.answers.first?.data == (reply.id == 2 ? "10.0.0.2" : "10.0.0.1"))
        }
    }

    @Test func handlesAQueryArrivingInPieces() throws {
        let server = try TestServer()
        server.upstream.add("slowly.test", .a("10.0.0.9"))
        let fd = try Socket.connectedTCP(to: server.address, timeoutMilliseconds: 3000)
        defer { close(fd) }
        let query = DNSTestClient.query("slowly.test", id: 77)
        let framed = [UInt8(query.count >> 8), UInt8(query.count & 0xFF)] + query
        for byte in framed {
            try Socket.writeAll(fd, [byte])
            usleep(2000)
        }
        let length = try Socket.readExactly(fd, 2)
        let reply = try LDNSMessage(wire: try Socket.readExactly(fd, Int(length[0]) << 8 | Int(length[1])))
        #expect(reply.id == 77 && reply.answers.first?.data == "10.0.0.9")
    }

    @Test func closesIdleConnections() throws {
        let server = try TestServer(configure: { $0.tcpIdleTimeoutSeconds = 1 })
        let fd = try Socket.connectedTCP(to: server.address, timeoutMilliseconds: 3000)
        defer { close(fd) }
        let started = Date()
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, 0)
        #expect(n == 0, "the server closed the connection")
        #expect(Date().timeIntervalSince(started) < 2.5)
    }

    @Test func capsOpenConnections() throws {
        let server = try TestServer(configure: { $0.tcpMaxConnections = 2 })
        server.upstream.add("cap.test", .a("10.0.0.5"))
        let held = try (0..<2).map { _ in try Socket.connectedTCP(to: server.address, timeoutMilliseconds: 2000) }
        defer { held.forEach { close($0) } }
        Thread.sleep(forTimeInterval: 0.2)
        #expect(server.service.server.openTCPConnections == 2)
        let extra = try Socket.connectedTCP(to: server.address, timeoutMilliseconds: 1000)
        defer { close(extra) }
        var byte: UInt8 = 0
        #expect(recv(extra, &byte, 1, 0) <= 0, "the connection over the cap is closed at once")
        // The held connections still work.
        try Socket.writeAll(held[0], { let q = DNSTestClient.query("cap.test"); return [0, UInt8(q.count)] + q }())
        let length = try Socket.readExactly(held[0], 2)
        #expect(try LDNSMessage(wire: try Socket.readExactly(held[0], Int(length[1]) | Int(length[0]) << 8)).answerCount == 1)
    }
}
