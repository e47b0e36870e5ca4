import Foundation
import Logging
import NIOSSL

/// The certificate and key Hush's encrypted listeners present: from the configured files, or one Hush
/// made itself on first start (self-signed, which Android's opportunistic Private DNS accepts; strict
/// mode and DDR's verified upgrade need a certificate the devices trust).
public struct ServerIdentity: Sendable {
    public var chain: [NIOSSLCertificate]
    public var key: NIOSSLPrivateKey

    /// When the certificate devices see stops being valid.
    public var expires: Date { Date(timeIntervalSince1970: TimeInterval(chain[0].notValidAfter)) }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public static func load(certificate: String, key: String) throws(Failure) -> ServerIdentity {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate)
            guard !chain.isEmpty else { throw Failure(description: "\(certificate) holds no certificate") }
            return ServerIdentity(chain: chain, key: try NIOSSLPrivateKey(file: key, format: .pem))
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "cannot read the TLS certificate \(certificate) and key \(key): \(error)")
        }
    }

    /// The self-signed certificate in `directory`, made now (with openssl, for `names` and `addresses`)
    /// when there is none yet. Says so in the log when it makes one.
    public static func selfSigned(in directory: String, names: [String], addresses: [String], logger: Logger) throws(Failure) -> ServerIdentity {
        let certificate = directory + "/hush-tls.crt"
        let key = directory + "/hush-tls.key"
        if !FileManager.default.fileExists(atPath: certificate) || !FileManager.default.fileExists(atPath: key) {
            try make(certificate: certificate, key: key, names: names, addresses: addresses)
            logger.notice("made a self-signed TLS certificate for \((names + addresses).joined(separator: ", ")) at \(certificate); devices in opportunistic mode accept it, strict mode needs server.tls-cert and server.tls-key from a CA they trust")
        }
        return try load(certificate: certificate, key: key)
    }

    static func make(certificate: String, key: String, names: [String], addresses: [String]) throws(Failure) {
        let directory = (certificate as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw Failure(description: "cannot create \(directory) for the TLS certificate: \(error)")
        }
        let alternatives = (names.map { "DNS:\($0)" } + addresses.map { "IP:\($0)" }).joined(separator: ",")
        let arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-sha256",
            "-days", "825", "-keyout", key, "-out", certificate, "-subj", "/CN=\(names.first ?? "hush")",
            "-addext", "subjectAltName=\(alternatives)",
        ]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot run openssl to make a TLS certificate (\(error)); install openssl or set server.tls-cert and server.tls-key")
        }
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "openssl could not make a TLS certificate: \(String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        chmod(key, 0o600)
    }
}
