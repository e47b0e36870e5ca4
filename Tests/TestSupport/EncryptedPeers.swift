import Foundation
import Glibc
import Sockets

/// Certificates a test makes with openssl: a CA, server certificates it signs for `dns.test` (one also
/// naming 127.0.0.1), and an unrelated CA that must not be trusted for them.
public struct TestCertificates: Sendable {
    public let directory: String
    public var ca: String { directory + "/ca.crt" }
    public var otherCA: String { directory + "/other-ca.crt" }
    public var certificate: String { directory + "/server.crt" }
    public var key: String { directory + "/server.key" }
    /// The same key's certificate naming 127.0.0.1 as well.
    public var addressedCertificate: String { directory + "/addressed.crt" }
    /// The same key's certificate for `dns.test`, valid only in January 2020.
    public var expiredCertificate: String { directory + "/expired.crt" }

    public init() throws {
        directory = TestFiles.directory("certificates")
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for (name, subject) in [("ca", "/CN=Hush Test CA"), ("other-ca", "/CN=Someone Else")] {
            try Self.openssl(["req", "-x509"] + ec + ["-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).crt",
                             "-days", "2", "-subj", subject, "-addext", "basicConstraints=critical,CA:TRUE"])
        }
        try Self.openssl(["req"] + ec + ["-keyout", key, "-out", "\(directory)/server.csr", "-subj", "/CN=dns.test"])
        for (output, names) in [(certificate, "DNS:dns.test"), (addressedCertificate, "DNS:dns.test,IP:127.0.0.1")] {
            try "subjectAltName=\(names)\n".write(toFile: "\(directory)/ext", atomically: true, encoding: .utf8)
            try Self.openssl(["x509", "-req", "-in", "\(directory)/server.csr", "-CA", ca, "-CAkey", "\(directory)/ca.key",
                              "-CAcreateserial", "-out", output, "-days", "2", "-extfile", "\(directory)/ext"])
        }
        try signExpired()
    }

    /// Signs the server's request with dates in the past: `openssl ca` takes explicit dates, `x509` does not.
    func signExpired() throws {
        let config = """
            [ca]
            default_ca = test
            [test]
            database = \(directory)/index.txt
            serial = \(directory)/ca.srl
            new_certs_dir = \(directory)
            default_md = sha256
            policy = any
            [any]
            commonName = supplied
            """
        try config.write(toFile: directory + "/ca.cnf", atomically: true, encoding: .utf8)
        try "".write(toFile: directory + "/index.txt", atomically: true, encoding: .utf8)
        try Self.openssl(["ca", "-batch", "-notext", "-config", directory + "/ca.cnf", "-cert", ca, "-keyfile", directory + "/ca.key",
                          "-in", directory + "/server.csr", "-out", expiredCertificate, "-startdate", "20200101000000Z",
                          "-enddate", "20200201000000Z", "-extfile", directory + "/ext"])
    }

    static func openssl(_ arguments: [String]) throws {
        let result = try Command.run("/usr/bin/openssl", arguments)
        guard result.status == 0 else { throw TestFailure("openssl \(arguments.joined(separator: " ")): \(result.error)") }
    }
}

/// unbound serving DNS over TLS and over HTTPS (and plain DNS) on loopback from its own local data, with
/// the test's certificate: the real peer Hush's encrypted upstreams talk to.
public final class UnboundPeer: @unchecked Sendable {
    public let tlsPort: UInt16
    public let httpsPort: UInt16
    public let plainPort: UInt16
    let process: Process
    let directory: String

    /// `records`: "name. TTL A address" lines for its local zone `test.`.
    public init(certificates: TestCertificates, records: [String], certificate: String? = nil, threads: Int = 1, extra: String = "") throws {
        tlsPort = try HushBinary.freePort()
        httpsPort = try HushBinary.freePort()
        plainPort = try HushBinary.freePort()
        directory = TestFiles.directory("unbound")
        let config = """
        server:
          interface: 127.0.0.1@\(tlsPort)
          interface: 127.0.0.1@\(httpsPort)
          interface: 127.0.0.1@\(plainPort)
          port: \(plainPort)
          tls-port: \(tlsPort)
          https-port: \(httpsPort)
          tls-service-key: \(certificates.key)
          tls-service-pem: \(certificate ?? certificates.certificate)
          do-daemonize: no
          username: ""
          chroot: ""
          directory: \(directory)
          pidfile: ""
          use-syslog: no
          verbosity: 0
          num-threads: \(threads)
          access-control: 127.0.0.0/8 allow
          module-config: "iterator"
          do-not-query-localhost: no
          local-zone: "test." static
        \(records.map { "  local-data: \"\($0)\"" }.joined(separator: "\n"))
        \(extra)
        """
        let path = directory + "/unbound.conf"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/unbound")
        process.arguments = ["-d", "-c", path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try waitForTCP(port: tlsPort)
        try waitForTCP(port: httpsPort)
    }

    public var tlsAddress: String { "127.0.0.1:\(tlsPort)" }

    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port` (5 s at most).
public func waitForTCP(port: UInt16) throws {
    for _ in 0..<100 {
        if let fd = try? Socket.connectedTCP(to: SocketAddress(ip: .v4(0x7F00_0001), port: port), timeoutMilliseconds: 100) {
            close(fd)
            return
        }
        usleep(50_000)
    }
    throw TestFailure("nothing listens on 127.0.0.1:\(port)")
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
