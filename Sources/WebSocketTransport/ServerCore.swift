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

    /// Wakes the service thread so it looks at writable requests and shutdown (any thread).
    func wakeServiceThread() {
        contextHandle.withLock { handle in
            if let handle { lws_cancel_service(handle.pointer) }
        }
    }

    func send(_ message: OutboundMessage, to id: ConnectionID) -> Bool {
        let bytesMax = configuration.outboundQueueBytesMax
        let messagesMax = configuration.outboundQueueMessagesMax
        let outcome = outbound.withLock { state in
            state.enqueue(message, to: id, bytesMax: bytesMax, messagesMax: messagesMax)
        }
        if outcome.overflowed { countSlowConsumer(id) }
        if outcome.wake { wakeServiceThread() }
        return outcome.accepted
    }

    /// Fan-out: one lock, one wake-up, and the same array storage shared by every queue.
    func send(_ message: OutboundMessage, to ids: [ConnectionID]) {
        let bytesMax = configuration.outboundQueueBytesMax
        let messagesMax = configuration.outboundQueueMessagesMax
        let (wake, overflowed) = outbound.withLock { state in
            var wake = false
            var overflowed: [ConnectionID] = []
            for id in ids {
                let outcome = state.enqueue(message, to: id, bytesMax: bytesMax, messagesMax: messagesMax)
                wake = outcome.wake || wake
                if outcome.overflowed { overflowed.append(id) }
            }
            return (wake, overflowed)
        }
        for id in overflowed { countSlowConsumer(id) }
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
        let wake = outbound.withLock { $0.requestClose(request, for: id) }
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
