import Synchronization

/// A value that is here now, or will come later. Most answers are local (blocked names, cache hits), so
/// they travel as plain values; a continuation closure per stage would cost three allocations per query.
public enum Eventual<Value: Sendable>: Sendable {
    case now(Value)
    case later(Pending<Value>)

    /// Runs `body` with the value: at once when it is here, when it comes otherwise.
    public func whenReady(_ body: @escaping @Sendable (Value) -> Void) {
        switch self {
        case .now(let value): body(value)
        case .later(let pending): pending.whenReady(body)
        }
    }

    /// For the slow paths only: the closure is allocated even when the value is here now.
    public func map<T: Sendable>(_ transform: @escaping @Sendable (Value) -> T) -> Eventual<T> {
        switch self {
        case .now(let value): .now(transform(value))
        case .later(let pending): .later(pending.map(transform))
        }
    }
}

/// A value still on its way (an upstream answer). Whoever holds it says what to do with it, before or
/// after it comes: the reply can reach the upstream reader before the asker has returned. The first value
/// given is the one kept. Its lock sits inline (one allocation per pending value, where `Locked` would
/// take three): every forwarded query makes one per stage that looks at the answer, and the two sides
/// rarely meet, so a priority-inheriting `Mutex` costs nothing here.
public final class Pending<Value: Sendable>: Sendable {
    public typealias Waiter = @Sendable (Value) -> Void

    private enum State {
        /// Nearly always one waiter (the stage that asked); more only for coalesced questions.
        case waiting(first: Waiter?, more: [Waiter])
        case fulfilled(Value)
    }

    private let state = Mutex(State.waiting(first: nil, more: []))

    public init() {}

    public func fulfil(_ value: Value) {
        let (first, more) = state.withLock { state -> (Waiter?, [Waiter]) in
            guard case .waiting(let first, let more) = state else { return (nil, []) }
            state = .fulfilled(value)
            return (first, more)
        }
        first?(value)
        for waiter in more { waiter(value) }
    }

    public func whenReady(_ body: @escaping Waiter) {
        let value = state.withLock { state -> Value? in
            switch state {
            case .fulfilled(let value):
                return value
            case .waiting(nil, let more):
                state = .waiting(first: body, more: more)
                return nil
            case .waiting(let first, var more):
                state = .waiting(first: nil, more: [])
                more.append(body)
                state = .waiting(first: first, more: more)
                return nil
            }
        }
        if let value { body(value) }
    }

    public func map<T: Sendable>(_ transform: @escaping @Sendable (Value) -> T) -> Pending<T> {
        let mapped = Pending<T>()
        whenReady { mapped.fulfil(transform($0)) }
        return mapped
    }
}
