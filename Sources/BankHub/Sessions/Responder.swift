import BankCore
import BankWire
import Synchronization
import WebSocketTransport

/// Counts each connection's unanswered requests, to bound them (`requestsInFlightMax`) and to let shutdown
/// wait until every accepted request has had its answer.
final class InFlightCounter: Sendable {
    private let counts = Mutex<[ConnectionID: Int]>([:])

    /// Counts one more request for `connection` unless it already has `limit`; false when it has.
    func begin(_ connection: ConnectionID, limit: Int) -> Bool {
        counts.withLock { counts in
            let current = counts[connection, default: 0]
            guard current < limit else { return false }
            counts[connection] = current + 1
            return true
        }
    }

    func end(_ connection: ConnectionID) {
        counts.withLock { counts in
            guard let current = counts[connection] else { return }
            counts[connection] = current > 1 ? current - 1 : nil
        }
    }

    var total: Int { counts.withLock { $0.values.reduce(0, +) } }
}

/// Sends the one reply a request gets, from whichever thread finishes the work.
struct Responder: Sendable {
    let connection: ConnectionID
    let requestID: JSONValue
    let sink: any FrameSink
    let inFlight: InFlightCounter

    func succeed(_ result: JSONValue) {
        sink.send(Reply.success(id: requestID, result: result), to: connection)
        inFlight.end(connection)
    }

    func fail(_ error: BankError) {
        sink.send(Reply.failure(id: requestID, error: error), to: connection)
        inFlight.end(connection)
    }

    func finish(_ result: Result<JSONValue, BankError>) {
        switch result {
        case .success(let value): succeed(value)
        case .failure(let error): fail(error)
        }
    }
}
