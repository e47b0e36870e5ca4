import DNSWire
import Sockets

/// Refuses clients outside the allowed ranges, so a box exposed by mistake is not an open resolver.
public struct AccessControlHandler: Resolving {
    let allowed: [AddressRange]
    let next: any Resolving

    public init(allowed: [AddressRange], next: any Resolving) {
        self.allowed = allowed
        self.next = next
    }

    public func resolve(_ request: Request) -> Resolution {
        guard allowed.contains(where: { $0.contains(request.client) }) else {
            return .now(.synthesized(
                SynthesizedAnswer(rcode: .refused, extendedError: ExtendedError(
                    code: ExtendedError.prohibitedCode, text: "client \(request.client) is not allowed")),
                .refused(reason: "client not in allowed ranges")))
        }
        return next.resolve(request)
    }
}
