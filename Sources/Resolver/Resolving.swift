/// A stage: answer the request, or hand it to the next stage and maybe look at what comes back.
/// Local answers call `respond` before returning, on the caller's thread; forwarded ones call it later
/// from the upstream queue. Either way `respond` is called exactly once.
public protocol Resolving: Sendable {
    func resolve(_ request: Request, _ respond: @escaping @Sendable (Answer) -> Void)
}

/// Sees every answered query: stats and metrics hang off this. Called on the answering path, so an
/// observer only queues what it needs and returns.
public protocol AnswerObserver: Sendable {
    func observe(_ request: Request, _ answer: Answer)
}
