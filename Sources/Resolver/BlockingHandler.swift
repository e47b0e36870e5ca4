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

    public func resolve(_ request: Request, _ respond: @escaping @Sendable (Answer) -> Void) {
        let query = request.query
        if case .blocked(let match) = lists.verdict(for: query.name.bytes) {
            respond(.synthesized(policy.answer(for: query, match: match), .blocked(match)))
            return
        }
        next.resolve(request) { [lists, policy] answer in
            guard case .stored(let served) = answer.content, !served.message.cnameTargets.isEmpty else {
                respond(answer)
                return
            }
            for target in served.message.cnameTargets {
                if case .blocked(let match) = lists.verdict(for: target.bytes) {
                    respond(.synthesized(
                        policy.answer(for: query, match: match, cname: target.description),
                        .blockedByCNAME(cname: target.description, match)))
                    return
                }
            }
            respond(answer)
        }
    }
}
