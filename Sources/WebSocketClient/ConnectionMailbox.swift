import Synchronization

/// Buffers one connection's events between the loop thread and an async reader.
final class ConnectionMailbox: Sendable {
    struct State {
        var opening: CheckedContinuation<String?, any Error>?
        var messages: [WebSocketMessage] = []
        var head = 0
        /// The last message (a close) once it arrived; returned again on every later receive.
        var finalClose: WebSocketMessage?
        var failure: WebSocketClientError?
        var waiter: (token: UInt64, continuation: CheckedContinuation<WebSocketMessage, any Error>)?
        var nextToken: UInt64 = 1
    }

    let state = Mutex(State())

    /// Called on the loop thread for each event of the connection.
    func deliver(_ event: WebSocketClientEvent) {
        state.withLock { state in
            switch event {
            case .opened(let subprotocol):
                state.opening?.resume(returning: subprotocol)
                state.opening = nil
            case .failed(let error):
                state.failure = error
                state.opening?.resume(throwing: error)
                state.opening = nil
                state.waiter?.continuation.resume(throwing: error)
                state.waiter = nil
            case .message(let message):
                if case .close = message { state.finalClose = message }
                if let waiter = state.waiter {
                    state.waiter = nil
                    waiter.continuation.resume(returning: message)
                } else {
                    state.messages.append(message)
                }
            }
        }
    }

    /// Hands out the next message now, or parks `continuation` under a token for later.
    func take(_ continuation: CheckedContinuation<WebSocketMessage, any Error>) -> UInt64? {
        state.withLock { state in
            precondition(state.waiter == nil, "one receive at a time per connection")
            if state.head < state.messages.count {
                let message = state.messages[state.head]
                state.head += 1
                if state.head == state.messages.count {
                    state.messages.removeAll()
                    state.head = 0
                }
                continuation.resume(returning: message)
                return nil
            }
            if let finalClose = state.finalClose {
                continuation.resume(returning: finalClose)
                return nil
            }
            if let failure = state.failure {
                continuation.resume(throwing: failure)
                return nil
            }
            defer { state.nextToken += 1 }
            state.waiter = (state.nextToken, continuation)
            return state.nextToken
        }
    }

    /// Fails the parked receive with `error` if it is still the one registered under `token`.
    func expire(_ token: UInt64, with error: WebSocketClientError) {
        state.withLock { state in
            guard let waiter = state.waiter, waiter.token == token else { return }
            state.waiter = nil
            waiter.continuation.resume(throwing: error)
        }
    }
}
