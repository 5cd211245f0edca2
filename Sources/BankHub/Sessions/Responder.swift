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
    /// Where the answer to an HTTP request goes instead of a reply frame on `sink`; nil on a WebSocket.
    var deliver: (@Sendable (Result<JSONValue, BankError>) -> Void)?

    init(connection: ConnectionID, requestID: JSONValue, sink: any FrameSink, inFlight: InFlightCounter,
         deliver: (@Sendable (Result<JSONValue, BankError>) -> Void)? = nil) {
        self.connection = connection
        self.requestID = requestID
        self.sink = sink
        self.inFlight = inFlight
        self.deliver = deliver
    }

    func succeed(_ result: JSONValue) {
        send(.success(result))
        inFlight.end(connection)
    }

    func fail(_ error: BankError) {
        send(.failure(error))
        inFlight.end(connection)
    }

    /// Answers a request refused before it counted as in flight (shutdown, rate limits).
    func refuse(_ error: BankError) {
        send(.failure(error))
    }

    private func send(_ result: Result<JSONValue, BankError>) {
        if let deliver { return deliver(result) }
        switch result {
        case .success(let value): sink.send(Reply.success(id: requestID, result: value), to: connection)
        case .failure(let error): sink.send(Reply.failure(id: requestID, error: error), to: connection)
        }
    }

    func finish(_ result: Result<JSONValue, BankError>) {
        switch result {
        case .success(let value): succeed(value)
        case .failure(let error): fail(error)
        }
    }
}
