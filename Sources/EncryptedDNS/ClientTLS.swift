import NIOCore
import NIOSSL

/// How Hush checks an encrypted upstream: against the system's CA store, or a CA file given for it, and
/// the configured host name (or, with none, the address in the certificate).
public struct ClientTLS: Sendable {
    /// PEM file of the CAs to trust for this upstream; nil means the system's store.
    public var caFile: String?
    public var applicationProtocols: [String] = []

    public init(caFile: String? = nil) {
        self.caFile = caFile
    }

    func context() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        if let caFile { configuration.trustRoots = .file(caFile) }
        configuration.applicationProtocols = applicationProtocols
        return try NIOSSLContext(configuration: configuration)
    }
}

/// The server's certificate chain did not verify: an untrusted issuer, or outside its dates.
func isCertificateVerificationFailure(_ error: any Error) -> Bool {
    guard case NIOSSLError.handshakeFailed(let reason) = error else { return false }
    return "\(reason)".contains("CERTIFICATE_VERIFY_FAILED")
}

/// Words for a TLS failure that say why the server was refused.
func describeTLSFailure(_ error: any Error) -> String {
    if isCertificateVerificationFailure(error) { return "certificate refused (not signed by a trusted CA, expired, or not yet valid)" }
    switch error {
    case NIOSSLError.handshakeFailed(let reason):
        return "TLS handshake failed: \(reason)"
    case let error as NIOSSLExtraError where error == .failedToValidateHostname:
        return "certificate refused: it does not name this server"
    default:
        return "\(error)"
    }
}
