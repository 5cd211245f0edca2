/// What a connection reports to its owner, on the loop thread, in order. The last event of a
/// connection is `.failed` (before open) or `.message(.close)` (after open).
public enum WebSocketClientEvent: Sendable {
    case opened(subprotocol: String?)
    case message(WebSocketMessage)
    case failed(WebSocketClientError)
}

/// One client connection as the loop thread sees it. Only the loop thread touches an instance
/// after it was handed over in an `.add` command.
final class ClientConnectionState {
    enum Phase: Equatable {
        case connecting, handshaking, open, closing, finished
    }

    let id: UInt64
    let descriptor: Int32
    let handshake: WebSocketHandshake
    let handler: @Sendable (WebSocketClientEvent) -> Void
    var phase = Phase.connecting
    var codec = WebSocketFrameCodec()
    var responseHead: [UInt8] = []
    /// Bytes waiting for the socket to accept them, from `outboxOffset` on.
    var outbox: [UInt8] = []
    var outboxOffset = 0
    var sentClose = false
    var readingSuspended = false
    /// The epoll interest currently registered, to skip redundant epoll_ctl calls.
    var registeredEvents: UInt32 = 0
    /// When a connect, handshake or close must have finished.
    var deadline: ContinuousClock.Instant

    init(id: UInt64, descriptor: Int32, handshake: WebSocketHandshake,
         handler: @escaping @Sendable (WebSocketClientEvent) -> Void, deadline: ContinuousClock.Instant) {
        self.id = id
        self.descriptor = descriptor
        self.handshake = handshake
        self.handler = handler
        self.deadline = deadline
    }

    var hasPendingOutput: Bool { outboxOffset < outbox.count }

    func queue(_ bytes: [UInt8]) {
        if outboxOffset == outbox.count {
            outbox = bytes
            outboxOffset = 0
        } else {
            outbox.append(contentsOf: bytes)
        }
    }

    /// Marks `count` bytes written; frees the outbox once everything went out.
    func consumeOutput(_ count: Int) {
        outboxOffset += count
        assert(outboxOffset <= outbox.count)
        if outboxOffset == outbox.count {
            outbox = []
            outboxOffset = 0
        } else if outboxOffset >= 64 * 1024 {
            outbox.removeFirst(outboxOffset)
            outboxOffset = 0
        }
    }

    /// Feeds handshake bytes; returns leftover frame bytes once the 101 head is complete.
    func absorbHandshake(_ bytes: UnsafeRawBufferPointer) throws(WebSocketClientError) -> (subprotocol: String?, rest: [UInt8])? {
        responseHead.append(contentsOf: bytes)
        guard let end = WebSocketHandshake.headEnd(in: responseHead) else {
            if responseHead.count > WebSocketHandshake.responseHeadBytesMax {
                throw .invalidHandshake("response head too large")
            }
            return nil
        }
        let subprotocol = try handshake.verify(responseHead: Array(responseHead[..<end]))
        let rest = Array(responseHead[end...])
        responseHead = []
        return (subprotocol, rest)
    }
}
