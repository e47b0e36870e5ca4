import Sockets

/// Where the forwarding stage sends a question: a plain server over UDP (TCP when the reply is
/// truncated), or an encrypted one that a connection-holding transport reaches (DNS over TLS or HTTPS).
public enum Upstream: Sendable, CustomStringConvertible {
    case datagram(SocketAddress)
    case stream(any StreamUpstream)

    public var description: String {
        switch self {
        case .datagram(let address): "\(address)"
        case .stream(let upstream): upstream.description
        }
    }
}

/// An upstream reached over a connection it keeps open: it frames the query, matches the reply and
/// calls back exactly once, with the reply or why there is none (within its own timeout).
public protocol StreamUpstream: AnyObject, Sendable, CustomStringConvertible {
    /// Sends `query` (a whole DNS message, with its ID) and delivers the reply message carrying that same ID.
    func exchange(_ query: [UInt8], _ done: @escaping @Sendable (Result<[UInt8], UpstreamFailure>) -> Void)
}

/// Why an encrypted upstream gave no reply, in words that name the server.
public struct UpstreamFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
