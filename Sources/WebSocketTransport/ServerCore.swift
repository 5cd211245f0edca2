import CLibWebSockets
import Dispatch
import Synchronization

/// An lws context pointer that other threads may use for `lws_cancel_service` only.
// @unchecked Sendable: the pointer is only dereferenced by lws_cancel_service (documented thread-safe)
// while ServerCore.contextHandle's mutex is held, and the service thread clears it under that mutex
// before destroying the context.
struct ContextHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// Where a server is in its life: start once, shut down once.
enum Lifecycle: Sendable {
    case created
    case running(port: Int)
    case stopped
}

/// The server's shared heart: reached from the lws callback (through the context user pointer)
/// and from any thread through ``WebSocketServer``.
final class ServerCore: Sendable {
    let configuration: WebSocketServerConfiguration
    let health: @Sendable () -> [UInt8]
    let policy: HandshakePolicy
    /// Everything the transport reports, in batches (see `EventMailbox`).
    let mailbox = EventMailbox()
    let outbound = Mutex(OutboundState())
    let inbound: InboundBacklog
    let statistics = TransportStatistics()
    let serviceState: ServiceThreadState
    let contextHandle = Mutex<ContextHandle?>(nil)
    let lifecycle = Mutex(Lifecycle.created)
    /// Dynamic HTTP routes, added before `start()` (see ServerCore+Exchanges.swift).
    let routes = Mutex<[HTTPRoute]>([])
    /// The answer side of every open HTTP exchange. Lock order: before `outbound`.
    let exchanges = Mutex(HTTPExchangeTable())
    /// True once a service thread exists, so a second `shutdown()` knows to wait for it.
    let serviceThreadStarted = Mutex(false)
    /// Signalled once when the service thread has destroyed the context; re-signalled by each waiter.
    let serviceThreadFinished = DispatchSemaphore(value: 0)

    init(configuration: WebSocketServerConfiguration, health: @escaping @Sendable () -> [UInt8]) {
        configuration.validate()
        self.configuration = configuration
        self.health = health
        self.inbound = InboundBacklog(messagesMax: configuration.inboundMessagesMax,
                                      bytesMax: configuration.inboundBytesMax)
        self.policy = HandshakePolicy(webSocketPath: configuration.webSocketPath,
                                      allowedOrigins: configuration.allowedOrigins,
                                      allowedHosts: configuration.allowedHosts,
                                      boundHost: configuration.host,
                                      usesTLS: configuration.usesTLS)
        self.serviceState = ServiceThreadState(
            closeDeadlines: CloseDeadlines(timeout: .seconds(configuration.closeTimeoutSeconds)),
            limiter: ConnectionLimiter(connectionsMax: configuration.connectionsMax,
                                       connectionsPerAddressMax: configuration.connectionsPerAddressMax))
    }

    /// Hands an event to the application (see `EventMailbox`).
    func report(_ event: TransportEvent) {
        mailbox.post(event)
    }

    /// Wakes the service thread so it looks at writable requests and shutdown (any thread). Callers that record
    /// requests in ``outbound`` ask ``OutboundState/wakeNeeded(_:)`` first, so a burst wakes it once.
    func wakeServiceThread() {
        contextHandle.withLock { handle in
            if let handle {
                lws_cancel_service(handle.pointer)
                statistics.countServiceWake()
            }
        }
    }

    func send(_ message: OutboundMessage, to id: ConnectionID) -> Bool {
        let bytesMax = configuration.outboundQueueBytesMax
        let messagesMax = configuration.outboundQueueMessagesMax
        let (outcome, wake) = outbound.withLock { state in
            let outcome = state.enqueue(message, to: id, bytesMax: bytesMax, messagesMax: messagesMax)
            return (outcome, state.wakeNeeded(outcome.wake))
        }
        if outcome.overflowed { countSlowConsumer(id) }
        if wake { wakeServiceThread() }
        return outcome.accepted
    }

    /// Fan-out: one lock, at most one wake-up, and the same array storage shared by every queue.
    func send(_ message: OutboundMessage, to ids: [ConnectionID]) {
        enqueueBurst { state, burst in
            for id in ids { burst.enqueue(message, to: id, in: &state) }
        }
    }

    /// Many messages, each for its recipients, in order: one lock and at most one wake-up for all of them.
    func send(_ batch: SendBatch) {
        guard !batch.isEmpty else { return }
        enqueueBurst { state, burst in
            for entry in batch.entries {
                let message = OutboundMessage(bytes: entry.bytes, kind: .text)
                for id in batch.recipients[entry.recipients] { burst.enqueue(message, to: id, in: &state) }
            }
        }
    }

    /// Runs `fill` under the outbound lock, then counts and logs the overflows and wakes the service thread if
    /// any queue needs it and no wake-up is already on its way.
    private func enqueueBurst(_ fill: (inout OutboundState, inout EnqueueBurst) -> Void) {
        var burst = EnqueueBurst(bytesMax: configuration.outboundQueueBytesMax,
                                 messagesMax: configuration.outboundQueueMessagesMax)
        let wake = outbound.withLock { state in
            fill(&state, &burst)
            return state.wakeNeeded(burst.needsService)
        }
        for id in burst.overflowed { countSlowConsumer(id) }
        if wake { wakeServiceThread() }
    }

    private func countSlowConsumer(_ id: ConnectionID) {
        statistics.countSlowConsumerClose()
        configuration.log("connection \(id): outbound queue overflowed; closing with 4008 (slow consumer)")
    }

    /// Bytes queued for `id` and not yet handed to lws (0 once it is gone).
    func queuedBytes(for id: ConnectionID) -> Int {
        outbound.withLock { $0.queues[id]?.queuedBytes ?? 0 }
    }

    func close(_ id: ConnectionID, code: UInt16, reason: String) {
        let request = CloseRequest(code: code, reason: String(reason.utf8.prefix(123)) ?? "")
        let wake = outbound.withLock { $0.wakeNeeded($0.requestClose(request, for: id)) }
        if wake { wakeServiceThread() }
    }

    var connectionCount: Int {
        outbound.withLock { $0.queues.count }
    }

    var port: Int {
        lifecycle.withLock { state in
            if case .running(let port) = state { return port }
            return configuration.port
        }
    }

    /// Asks the service thread to close everything with 1001 and stop, then waits for it.
    func shutdown() {
        let wasRunning = lifecycle.withLock { state -> Bool in
            if case .running = state {
                state = .stopped
                return true
            }
            state = .stopped
            return false
        }
        if wasRunning {
            outbound.withLock { $0.shutdownRequested = true }
            wakeServiceThread()
        }
        guard wasRunning || serviceThreadStarted.withLock({ $0 }) else {
            mailbox.finish()
            return
        }
        serviceThreadFinished.wait()
        serviceThreadFinished.signal()
    }
}

/// What a burst of enqueues under one lock did: whether the service thread must be told, and which queues
/// overflowed (each closes with 4008).
struct EnqueueBurst {
    let bytesMax: Int
    let messagesMax: Int
    private(set) var needsService = false
    private(set) var overflowed: [ConnectionID] = []

    init(bytesMax: Int, messagesMax: Int) {
        self.bytesMax = bytesMax
        self.messagesMax = messagesMax
    }

    mutating func enqueue(_ message: OutboundMessage, to id: ConnectionID, in state: inout OutboundState) {
        let outcome = state.enqueue(message, to: id, bytesMax: bytesMax, messagesMax: messagesMax)
        needsService = needsService || outcome.wake
        if outcome.overflowed { overflowed.append(id) }
    }
}
