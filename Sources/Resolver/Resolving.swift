/// A stage: answer the request, or hand it to the next stage and maybe look at what comes back.
/// Local answers and cache hits come back `.now`, on the caller's thread, with nothing allocated to wait
/// for them; forwarded ones come back `.later`, and the upstream side fulfils them.
public protocol Resolving: Sendable {
    func resolve(_ request: Request) -> Resolution
}

public typealias Resolution = Eventual<Answer>

/// Sees every answered query: stats and metrics hang off this. Called on the answering path, so an
/// observer only queues what it needs and returns.
public protocol AnswerObserver: Sendable {
    func observe(_ request: Request, _ answer: Answer)
}
