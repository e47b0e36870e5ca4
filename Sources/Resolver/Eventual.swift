import Locking

/// A value that is here now, or will come later. Most answers are local (blocked names, cache hits), so
/// they travel as plain values; a continuation closure per stage cost three allocations per query.
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
/// given is the one kept.
public final class Pending<Value: Sendable>: Sendable {
    private enum State {
        case waiting([@Sendable (Value) -> Void])
        case fulfilled(Value)
    }

    private let state = Locked(State.waiting([]))

    public init() {}

    public func fulfil(_ value: Value) {
        let waiters = state.withLock { state -> [@Sendable (Value) -> Void] in
            guard case .waiting(let waiters) = state else { return [] }
            state = .fulfilled(value)
            return waiters
        }
        for waiter in waiters { waiter(value) }
    }

    public func whenReady(_ body: @escaping @Sendable (Value) -> Void) {
        let value = state.withLock { state -> Value? in
            switch state {
            case .fulfilled(let value):
                return value
            case .waiting(var waiters):
                waiters.append(body)
                state = .waiting(waiters)
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
