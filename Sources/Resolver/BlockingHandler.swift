import Blocklist
import DNSWire

/// Answers blocked names itself, and blocks an allowed name's answer when one of its CNAMEs leads to a
/// blocked name (CNAME uncloaking). It sits before the cache, so cached answers are uncloaked the same way.
public struct BlockingHandler: Resolving {
    let lists: ListStore
    let policy: BlockPolicy
    let next: any Resolving

    public init(lists: ListStore, policy: BlockPolicy, next: any Resolving) {
        self.lists = lists
        self.policy = policy
        self.next = next
    }

    public func resolve(_ request: Request) -> Resolution {
        if case .blocked(let match) = lists.verdict(for: request.query.name.bytes) {
            return .now(.synthesized(policy.answer(for: request.query, match: match), .blocked(match)))
        }
        // Spelled out rather than `map`: a cache hit passes through here, and should not pay for a closure.
        switch next.resolve(request) {
        case .now(let answer):
            return .now(Self.uncloaked(answer, query: request.query, lists: lists, policy: policy))
        case .later(let pending):
            let query = request.query
            return .later(pending.map { [lists, policy] answer in
                Self.uncloaked(answer, query: query, lists: lists, policy: policy)
            })
        }
    }

    /// The answer, or a blocked one when a CNAME in it leads to a blocked name.
    static func uncloaked(_ answer: Answer, query: Query, lists: ListStore, policy: BlockPolicy) -> Answer {
        guard case .stored(let served) = answer.content, !served.message.cnameTargets.isEmpty else { return answer }
        for target in served.message.cnameTargets {
            if case .blocked(let match) = lists.verdict(for: target.bytes) {
                return .synthesized(
                    policy.answer(for: query, match: match, cname: target.description),
                    .blockedByCNAME(cname: target.description, match))
            }
        }
        return answer
    }
}
