import CThreadName
import Foundation
import Synchronization

/// A WebSocket + static-HTTP server on libwebsockets. Knows nothing about what the messages mean.
///
/// One service thread runs `lws_service` and is the only thread touching lws connection handles.
/// Inbound messages arrive, in per-connection order, on ``events`` (one consumer). Outbound
/// messages go through per-connection queues that any thread may fill with ``send(_:to:)`` (or many at once with
/// ``send(_:)``); a burst of sends wakes the service thread once, and each writeable callback writes as many
/// queued messages as the socket takes, up to 32 messages or 64 KiB.
///
/// Close codes the server sends:
/// - 1001 going away: ``shutdown()`` closes every connection with it after flushing its queue.
/// - 1002 protocol error / 1007 invalid payload: the peer's close frame was malformed (RFC 6455 §7.4);
///   lws itself fails other protocol errors with 1002 and invalid UTF-8 text with 1007.
/// - 1009 message too big: an inbound message exceeded `messageBytesMax`; `tooLargeReply` precedes it.
/// - 4008 slow consumer: a connection's queue exceeded `outboundQueueBytesMax` or
///   `outboundQueueMessagesMax`; what was still queued is dropped.
/// - any code passed to ``close(_:code:reason:)``, after the messages already queued.
///
/// Whatever the code, a connection is gone at most `closeTimeoutSeconds` after its close was asked for,
/// even if the peer stops reading. Upgrades are refused with 403 (wrong path, foreign Host or Origin) or 503
/// (`connectionsMax` or `connectionsPerAddressMax` reached).
///
/// HTTP: `GET /healthz` answers 200 `application/json` with the `health` bytes; with a `webRoot`,
/// lws serves its files at "/" (`index.html` by default). `responseHeaders` go on every response.
public final class WebSocketServer: Sendable {
    private let core: ServerCore

    /// `health` runs on the service thread for each GET /healthz: it must be quick and never block.
    public init(configuration: WebSocketServerConfiguration, health: @escaping @Sendable () -> [UInt8]) {
        core = ServerCore(configuration: configuration, health: health)
    }

    deinit {
        core.shutdown()
    }

    /// Creates the lws context, binds, and starts the service thread. Throws ``WebSocketServerError``
    /// (`.addressInUse` when the port is taken; `.listenFailed` when the listening socket cannot be made otherwise).
    /// The lws service thread's name (15 bytes at most, the kernel's limit).
    static let serviceThreadName = "bankhub-lws"

    public func start() throws {
        let mayStart = core.lifecycle.withLock { state -> Bool in
            guard case .created = state else { return false }
            return true
        }
        guard mayStart, !core.serviceThreadStarted.withLock({ started in
            defer { started = true }
            return started
        }) else {
            throw WebSocketServerError(.alreadyStarted, "start() may be called once")
        }
        let outcome = Mutex<ServerCore.StartOutcome?>(nil)
        let reported = DispatchSemaphore(value: 0)
        let resources = LwsResources(configuration: core.configuration,
                                     routePrefixes: core.routes.withLock { $0.map(\.pathPrefix) })
        let core = self.core
        let thread = Thread {
            // For the OS too (`/proc/PID/task/N/comm`, `top -H`, perf, the bench's per-thread fields): a new
            // thread otherwise carries its creator's name, here a dispatch worker's ("…root.default-qos").
            _ = bankhub_name_running_thread(Self.serviceThreadName)
            core.runServiceThread(resources: resources) { result in
                outcome.withLock { $0 = result }
                reported.signal()
            }
            core.serviceThreadFinished.signal()
        }
        thread.name = Self.serviceThreadName
        thread.start()
        reported.wait()
        switch outcome.withLock({ $0 })! {
        case .listening(let port):
            core.lifecycle.withLock { $0 = .running(port: port) }
        case .failed(let error):
            core.lifecycle.withLock { $0 = .stopped }
            throw error
        }
    }

    /// The bound port once started (also for port 0); the configured port before.
    public var port: Int { core.port }

    /// Every connection's events in batches: all that arrived while the consumer was busy with the previous
    /// batch, in order per connection. Single consumer (this or ``events``, not both); ends after shutdown.
    public var eventBatches: AsyncStream<[TransportEvent]> {
        let mailbox = core.mailbox
        return AsyncStream(unfolding: { await mailbox.next() })
    }

    /// Every connection's events one by one, in order per connection: ``eventBatches`` flattened, for
    /// consumers that do not care about batches. Single consumer (this or ``eventBatches``, not both); ends
    /// after shutdown.
    public var events: AsyncStream<TransportEvent> {
        let mailbox = core.mailbox
        // The rest of the batch being handed out, last event first.
        let rest = Mutex<[TransportEvent]>([])
        return AsyncStream(unfolding: {
            if let event = rest.withLock({ $0.popLast() }) { return event }
            guard let batch = await mailbox.next(), let first = batch.first else { return nil }
            rest.withLock { $0 = batch.dropFirst().reversed() }
            return first
        })
    }

    /// Queues one text message. Thread-safe. False if the connection is gone or closing, or if this
    /// message overflowed its queue (the connection is then closed with 4008).
    @discardableResult
    public func send(_ bytes: [UInt8], to id: ConnectionID) -> Bool {
        core.send(OutboundMessage(bytes: bytes, kind: .text), to: id)
    }

    /// Queues one message of the given kind; otherwise as ``send(_:to:)``.
    @discardableResult
    public func send(_ bytes: [UInt8], to id: ConnectionID, kind: MessageKind) -> Bool {
        core.send(OutboundMessage(bytes: bytes, kind: kind), to: id)
    }

    /// Queues the same text message for many connections; the bytes are shared, not copied per recipient.
    public func send(_ bytes: [UInt8], to ids: [ConnectionID]) {
        core.send(OutboundMessage(bytes: bytes, kind: .text), to: ids)
    }

    /// Queues every message of `batch` (text), in order per connection, under one lock and with at most one
    /// wake-up of the service thread. A message that overflows a queue closes that connection with 4008, and the
    /// later ones for it are dropped, as with ``send(_:to:)``.
    public func send(_ batch: SendBatch) {
        core.send(batch)
    }

    /// Closes a connection with `code` once the messages already queued for it are written.
    public func close(_ id: ConnectionID, code: UInt16, reason: String) {
        core.close(id, code: code, reason: reason)
    }

    /// Stops accepting, closes every connection with 1001 after flushing (waiting at most
    /// `shutdownGraceSeconds`), stops the thread and destroys the context. Idempotent; blocks.
    public func shutdown() {
        core.shutdown()
    }

    /// Tells the transport that the application finished with the oldest `.message` or `.binaryMessage` of
    /// `id` (call it in delivery order). Each connection may have `inboundMessagesMax` messages and
    /// `inboundBytesMax` bytes not yet consumed; past either its socket is not read until the backlog falls
    /// to half of both. Thread-safe.
    public func consumed(_ id: ConnectionID) {
        if core.inbound.consumed(id) { core.wakeServiceThread() }
    }

    /// ``consumed(_:)`` for each id (once per message, in delivery order), with one wake-up at most.
    public func consumed(_ ids: [ConnectionID]) {
        var wake = false
        for id in ids where core.inbound.consumed(id) { wake = true }
        if wake { core.wakeServiceThread() }
    }

    /// Adds a dynamic HTTP route (see ``HTTPRoute``); only before `start()`. A route's prefix must not be
    /// `/healthz`, the WebSocket path or another route's.
    public func addRoute(_ route: HTTPRoute) {
        let isNew = core.lifecycle.withLock { state -> Bool in
            if case .created = state { return true }
            return false
        }
        precondition(isNew, "routes are added before start()")
        core.routes.withLock { routes in
            precondition(!routes.contains { $0.pathPrefix == route.pathPrefix }, "route \(route.pathPrefix) added twice")
            precondition(![LwsResources.healthPath, core.configuration.webSocketPath].contains(route.pathPrefix),
                         "route \(route.pathPrefix) would hide a built-in path")
            routes.append(route)
        }
    }

    /// Open WebSocket connections and HTTP streams right now.
    public var connectionCount: Int { core.connectionCount }

    /// Bytes queued for one connection and not yet handed to lws (lws holds at most one more message).
    public func queuedBytes(for id: ConnectionID) -> Int { core.queuedBytes(for: id) }

    /// Counters of slow-consumer closes, forced closes and refused upgrades.
    public var statistics: TransportStatistics { core.statistics }
}
