/// Everything one load builds: names and patterns, to block and to allow.
public struct RuleSets: Sendable {
    public var block = DomainSet()
    public var allow = DomainSet()
    public var blockPatterns = PatternSet()
    public var allowPatterns = PatternSet()

    public init() {}

    /// Finishes the name tables for lookups (see `DomainSet.seal`).
    public mutating func seal() {
        block.seal()
        allow.seal()
        blockPatterns.seal()
        allowPatterns.seal()
    }
}
