import DNSWire

/// What makes two questions the same for the cache and for coalescing.
public struct CacheKey: Hashable, Sendable {
    public var name: DomainName
    public var type: RecordType
    public var recordClass: UInt16

    public init(_ query: Query) {
        name = query.name
        type = query.type
        recordClass = query.recordClass
    }
}

#if canImport(Glibc)
import Glibc
#endif
