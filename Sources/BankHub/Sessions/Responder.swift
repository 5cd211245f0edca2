import BankCore
import BankWire
import Dispatch
import Logging
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

/// Sends the one reply a request gets, from whichever thread finishes the work. Every answer is also counted
/// (`bankhub_requests_total`, `bankhub_request_duration_seconds`) and logged at debug as one `request` line
/// with op, code, duration_ms and connection only: never arguments, tokens, passwords, codes or notes.
struct Responder: Sendable {
    let connection: ConnectionID
    let requestID: JSONValue
    let sink: any FrameSink
    let inFlight: InFlightCounter
    /// Where the answer to an HTTP request goes instead of a reply frame on `sink`; nil on a WebSocket.
    var deliver: (@Sendable (Result<JSONValue, BankError>) -> Void)?
    /// The op answered; nil for a responder that answers no op (nothing is recorded then).
    let op: Op?
    /// When the request reached the hub, in nanoseconds on a monotonic clock.
    let startedNanoseconds: UInt64
    let logger: Logger?

    init(connection: ConnectionID, requestID: JSONValue, sink: any FrameSink, inFlight: InFlightCounter,
         op: Op? = nil, logger: Logger? = nil,
         deliver: (@Sendable (Result<JSONValue, BankError>) -> Void)? = nil) {
        self.connection = connection
        self.requestID = requestID
        self.sink = sink
        self.inFlight = inFlight
        self.deliver = deliver
        self.op = op
        self.logger = logger
        startedNanoseconds = DispatchTime.now().uptimeNanoseconds
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
        record(result)
        if let deliver { return deliver(result) }
        switch result {
        case .success(let value): sink.send(Reply.success(id: requestID, result: value), to: connection)
        case .failure(let error): sink.send(Reply.failure(id: requestID, error: error), to: connection)
        }
    }

    /// Counts and logs the answer. The log line carries the op, the code, the time and the connection only.
    private func record(_ result: Result<JSONValue, BankError>) {
        guard let op else { return }
        let duration = DispatchTime.now().uptimeNanoseconds &- startedNanoseconds
        let code = switch result {
        case .success: "ok"
        case .failure(let error): error.code.rawValue
        }
        HubMetrics.request(op, code: code, durationNanoseconds: duration)
        logger?.debug("request", metadata: [
            "op": .string(op.rawValue), "code": .string(code),
            "duration_ms": .string(Self.milliseconds(duration)),
            "connection": .stringConvertible(connection),
        ])
    }

    /// Nanoseconds as milliseconds with three decimals ("12.345").
    static func milliseconds(_ nanoseconds: UInt64) -> String {
        let micros = nanoseconds / 1_000
        let fraction = String(micros % 1_000)
        return "\(micros / 1_000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    func finish(_ result: Result<JSONValue, BankError>) {
        switch result {
        case .success(let value): succeed(value)
        case .failure(let error): fail(error)
        }
    }
}
