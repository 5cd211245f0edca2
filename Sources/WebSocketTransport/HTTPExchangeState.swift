/// How an application answers an exchange.
enum HTTPAnswer: Sendable, Equatable {
    /// A whole response with a known length.
    case response(HTTPResponse)
    /// A head now, a body of unknown length later (from the exchange's outbound queue).
    case stream(HTTPResponseHead)
}

/// What the service thread does on the next writeable callback of one exchange (one write per callback).
enum HTTPWriteStep: Sendable, Equatable {
    /// Nothing to write yet (no answer, or a stream with an empty queue).
    case idle
    /// Write the status line and headers; `contentLength` nil means a stream (no length, connection closes).
    case writeHead(HTTPResponseHead, contentLength: Int?)
    /// Write body bytes; `final` ends the response (then the HTTP transaction is completed).
    case writeBody([UInt8], final: Bool)
    /// Close the connection now: a stream ended, overflowed or was cut off, or shutdown found no answer.
    case hangUp
}

/// The answer side of one HTTP exchange: a pure state machine, shared between the application (which answers,
/// on any thread, under ``HTTPExchangeTable``'s mutex) and the service thread (which asks for the next step).
///
/// States: awaiting an answer → head to write → body to write (a response in chunks of `bodyChunkBytes`, or
/// a stream's queued messages) → done. An exchange is answered at most once.
struct HTTPExchangeState: Sendable {
    /// Largest piece of a whole response written per writeable callback, so a big body (a statement)
    /// neither blocks the service thread nor sits in one huge kernel write.
    let bodyChunkBytes: Int
    private(set) var answer: HTTPAnswer?
    private(set) var headWritten = false
    private var bodyOffset = 0
    private var finished = false

    init(bodyChunkBytes: Int = 16_384) {
        precondition(bodyChunkBytes > 0, "chunks must hold bytes")
        self.bodyChunkBytes = bodyChunkBytes
    }

    var isStream: Bool {
        if case .stream? = answer { return true }
        return false
    }

    /// Records the application's answer; false if it already answered.
    mutating func answer(_ answer: HTTPAnswer) -> Bool {
        guard self.answer == nil else { return false }
        self.answer = answer
        return true
    }

    /// The next step. `streamStep` takes the next queued piece of a stream (called only for a stream whose
    /// head is written); `closing` is true while the server shuts down.
    mutating func nextStep(closing: Bool, streamStep: () -> WriteStep) -> HTTPWriteStep {
        guard !finished else { return .hangUp }
        guard let answer else { return closing ? finish(.hangUp) : .idle }
        switch answer {
        case .response(let response):
            if !headWritten {
                headWritten = true
                return .writeHead(response.head, contentLength: response.body.count)
            }
            let end = min(bodyOffset + bodyChunkBytes, response.body.count)
            let piece = Array(response.body[bodyOffset..<end])
            bodyOffset = end
            assert(bodyOffset <= response.body.count)
            let final = bodyOffset == response.body.count
            if final { finished = true }
            return .writeBody(piece, final: final)
        case .stream(let head):
            if !headWritten {
                headWritten = true
                return .writeHead(head, contentLength: nil)
            }
            switch streamStep() {
            case .idle: return .idle
            case .write(let message, _): return .writeBody(message.bytes, final: false)
            case .close: return finish(.hangUp)
            }
        }
    }

    private mutating func finish(_ step: HTTPWriteStep) -> HTTPWriteStep {
        finished = true
        return step
    }
}

/// Every exchange's answer side, by id; lives inside a `Mutex` in ``ServerCore``. Lock order: this table's
/// mutex before `outbound`'s, never the other way.
struct HTTPExchangeTable: Sendable {
    var states: [ConnectionID: HTTPExchangeState] = [:]
}
