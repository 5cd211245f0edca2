import CNATS
import Glibc

/// A connection to NATS that reconnects forever (bounded wait plus jitter), buffers publishes while
/// disconnected up to ``NATSConfiguration/pendingBytesMax``, and reports link changes on ``events``.
/// libnats does the I/O on its own threads; messages and events reach Swift through bounded `AsyncStream`s.
public final class NATSConnection: Sendable {
    /// Link changes, in order. A hub fills every stream's gap from the database on `.reconnected`.
    public let events: AsyncStream<BusEvent>
    public let configuration: NATSConfiguration
    private let connection: LibNATSPointer
    /// Why the first attempt at start failed, when libnats said more than "no server" (see
    /// ``firstAttemptFailure(_:)``); nil when it connected.
    private let startFailure: String?

    /// Connects to the first reachable URL. When none is up yet it returns anyway and keeps trying:
    /// `.connected` arrives on ``events`` later, and publishes wait in the pending buffer meanwhile.
    public init(_ configuration: NATSConfiguration) throws(BusError) {
        try configuration.validate()
        self.configuration = configuration
        startFailure = try Self.firstAttemptFailure(configuration)
        let (events, continuation) = AsyncStream<BusEvent>.makeStream(
            bufferingPolicy: .bufferingNewest(configuration.eventsQueuedMax))
        self.events = events
        let callbacks = Unmanaged.passRetained(ConnectionCallbacks(events: continuation))
        do {
            connection = try Self.open(configuration, closure: callbacks.toOpaque())
        } catch {
            // No connection was created, so the closed callback that would release `callbacks` never runs.
            callbacks.release()
            continuation.finish()
            throw error
        }
    }

    deinit {
        natsConnection_Close(connection.pointer)
        natsConnection_Destroy(connection.pointer)
    }

    /// Sends `payload` on `subject`. While disconnected the bytes wait in the pending buffer; past
    /// `pendingBytesMax` this throws `.pendingBufferFull` and nothing is queued.
    public func publish(_ subject: String, _ payload: [UInt8]) throws(BusError) {
        precondition(payload.count <= Int(Int32.max), "a NATS payload is limited to Int32.max bytes")
        let status = payload.withUnsafeBytes { bytes in
            natsConnection_Publish(connection.pointer, subject, bytes.baseAddress, Int32(bytes.count))
        }
        try LibNATSStatus.check(status, "publish on \(subject)")
    }

    /// Waits until the server has processed everything published so far. Blocks the calling thread (at most
    /// `timeoutMilliseconds`); throws `.timeout` when disconnected or stalled.
    public func flush(timeoutMilliseconds: Int = 2_000) throws(BusError) {
        precondition(timeoutMilliseconds > 0, "flush timeout must be positive")
        try LibNATSStatus.check(natsConnection_FlushTimeout(connection.pointer, Int64(timeoutMilliseconds)), "flush")
    }

    /// Subscribes to `subject` (wildcards allowed). libnats restores it by itself after a reconnect.
    public func subscribe(_ subject: String) throws(BusError) -> NATSSubscription {
        let (messages, continuation) = AsyncStream<BusMessage>.makeStream(
            bufferingPolicy: .bufferingOldest(configuration.subscriptionMessagesQueuedMax))
        let sink = Unmanaged.passRetained(SubscriptionSink(messages: continuation))
        var subscription: OpaquePointer?
        let status = natsConnection_Subscribe(&subscription, connection.pointer, subject,
                                              SubscriptionSink.onMessage, sink.toOpaque())
        guard status == NATS_OK else {
            sink.release()
            continuation.finish()
            throw LibNATSStatus.error(status, "subscribe to \(subject)")
        }
        let handle = LibNATSPointer(subscription)
        try LibNATSStatus.check(
            natsSubscription_SetOnCompleteCB(handle.pointer, SubscriptionSink.onComplete, sink.toOpaque()),
            "subscribe to \(subject)")
        return NATSSubscription(handle: handle, messages: messages, connection: self)
    }

    /// Why the link is not up, when libnats knows (e.g. `Authorization Violation` from the server); nil while
    /// all is well. Credentials from the URLs are masked.
    public var lastError: String? {
        var text: UnsafePointer<CChar>?
        let status = natsConnection_GetLastError(connection.pointer, &text)
        // After a refused first attempt libnats's own error is only "no server": the start's reason is better.
        if status == NATS_OK || status == NATS_NO_SERVER, let startFailure, !isConnected { return startFailure }
        guard status != NATS_OK else { return nil }
        let message = text.map { String(cString: $0) } ?? ""
        return configuration.scrub(message.isEmpty ? String(cString: natsStatus_GetText(status)) : message)
    }

    /// Whether the link to a server is up now (libnats's status is `CONNECTED`: not connecting, reconnecting,
    /// draining or closed). A cheap read for health checks; ``events`` reports the changes in order.
    public var isConnected: Bool {
        natsConnection_Status(connection.pointer) == NATS_CONN_STATUS_CONNECTED
    }

    /// Closes the connection: pending publishes are dropped, subscriptions end, ``events`` ends with `.closed`.
    public func close() {
        natsConnection_Close(connection.pointer)
    }

    private static func open(_ configuration: NATSConfiguration,
                             closure: UnsafeMutableRawPointer) throws(BusError) -> LibNATSPointer {
        var options: OpaquePointer?
        try LibNATSStatus.check(natsOptions_Create(&options), "create options")
        defer { natsOptions_Destroy(options) }
        try LibNATSStatus.check(setOptions(options, configuration, closure), "set options")
        try setSecurity(options, configuration)
        var connection: OpaquePointer?
        let status = natsConnection_Connect(&connection, options)
        // NATS_NOT_YET_CONNECTED: no server answered yet; libnats keeps trying in the background.
        guard status == NATS_OK || status == NATS_NOT_YET_CONNECTED else {
            throw LibNATSStatus.error(status, "connect to \(configuration.displayURLs)")
        }
        return LibNATSPointer(connection)
    }

    /// One connection attempt to the servers without retrying in the background, closed at once. libnats
    /// tells why an attempt failed (a refused password, a failed TLS handshake) only to the calling thread, and
    /// forgets it when it retries on its own (after a refused first attempt it just closes, saying "no server").
    /// Returns that reason, credentials masked; nil when the attempt connected or no server answered at all.
    private static func firstAttemptFailure(_ configuration: NATSConfiguration) throws(BusError) -> String? {
        var options: OpaquePointer?
        try LibNATSStatus.check(natsOptions_Create(&options), "create options")
        defer { natsOptions_Destroy(options) }
        try LibNATSStatus.check(setOptions(options, configuration, nil), "set options")
        try setSecurity(options, configuration)
        var connection: OpaquePointer?
        let status = natsConnection_Connect(&connection, options)
        if status == NATS_OK {
            natsConnection_Destroy(connection)
            return nil
        }
        guard status != NATS_NO_SERVER else { return nil }
        let text = nats_GetLastError(nil).map { String(cString: $0) } ?? String(cString: natsStatus_GetText(status))
        return configuration.scrub(text)
    }

    /// Credentials (also for servers the cluster announces, whose URLs carry none) or the identity file, and TLS
    /// with its CA file.
    private static func setSecurity(_ options: OpaquePointer?, _ configuration: NATSConfiguration) throws(BusError) {
        switch configuration.credentials {
        case .user(let user, let password)?:
            try LibNATSStatus.check(natsOptions_SetUserInfo(options, user, password), "set the user")
        case .token(let token)?:
            try LibNATSStatus.check(natsOptions_SetToken(options, token), "set the token")
        case nil:
            break
        }
        if let identity = configuration.identity { try setIdentity(options, identity) }
        guard configuration.secure else { return }
        try LibNATSStatus.check(natsOptions_SetSecure(options, true), "turn TLS on")
        if let hostname = configuration.tlsHostname, !hostname.isEmpty {
            try LibNATSStatus.check(natsOptions_SetExpectedHostname(options, hostname), "set the TLS host name")
        }
        if let caFile = configuration.caFile {
            let status = natsOptions_LoadCATrustedCertificates(options, caFile)
            guard status == NATS_OK else {
                let detail = nats_GetLastError(nil).map { String(cString: $0) } ?? String(cString: natsStatus_GetText(status))
                throw BusError(.invalidConfiguration, "cannot load the CA file \(caFile): \(detail)")
            }
        }
    }

    /// The identity file, checked first (``NATSIdentityFile/check()``): libnats reads it again on every connect
    /// to sign the server's nonce, and says only "not found" or "invalid" about a file it cannot use.
    private static func setIdentity(_ options: OpaquePointer?, _ identity: NATSIdentityFile) throws(BusError) {
        let publicKey = try identity.check()
        let status = switch identity {
        case .nkeySeed(let path): natsOptions_SetNKeyFromSeed(options, publicKey, path)
        case .credentials(let path): natsOptions_SetUserCredentialsFromFiles(options, path, nil)
        }
        try LibNATSStatus.check(status, "use \(identity.kind) \(identity.path)")
    }

    /// The servers, name and limits; with `closure` (the ``ConnectionCallbacks``) also the reconnect policy and
    /// the link callbacks, without it one plain attempt (``firstAttemptFailure(_:)``).
    private static func setOptions(_ options: OpaquePointer?, _ configuration: NATSConfiguration,
                                   _ closure: UnsafeMutableRawPointer?) -> natsStatus {
        var cStrings = configuration.urls.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        let steps: [() -> natsStatus] = [
            { cStrings.withUnsafeMutableBufferPointer { buffer in
                buffer.withMemoryRebound(to: UnsafePointer<CChar>?.self) {
                    natsOptions_SetServers(options, $0.baseAddress, Int32($0.count))
                }
            } },
            { natsOptions_SetNoRandomize(options, true) },
            { natsOptions_SetName(options, configuration.name) },
            { natsOptions_SetNoEcho(options, configuration.noEcho) },
            { natsOptions_SetTimeout(options, Int64(configuration.connectTimeoutMilliseconds)) },
        ]
        let background: [() -> natsStatus] = closure == nil ? [] : [
            { natsOptions_SetMaxReconnect(options, -1) },
            { natsOptions_SetReconnectWait(options, Int64(configuration.reconnectWaitMilliseconds)) },
            { natsOptions_SetReconnectJitter(options, Int64(configuration.reconnectJitterMilliseconds),
                                             Int64(configuration.reconnectJitterMilliseconds)) },
            { natsOptions_SetReconnectBufSize(options, Int32(configuration.pendingBytesMax)) },
            { natsOptions_SetRetryOnFailedConnect(options, true, ConnectionCallbacks.connected, closure) },
            { natsOptions_SetDisconnectedCB(options, ConnectionCallbacks.disconnected, closure) },
            { natsOptions_SetReconnectedCB(options, ConnectionCallbacks.reconnected, closure) },
            { natsOptions_SetClosedCB(options, ConnectionCallbacks.closed, closure) },
        ]
        for step in steps + background {
            let status = step()
            guard status == NATS_OK else { return status }
        }
        return NATS_OK
    }
}

/// Messages on one subject, in the order the server sent them. Ends when unsubscribed or the connection closes.
public final class NATSSubscription: Sendable {
    public let messages: AsyncStream<BusMessage>
    private let handle: LibNATSPointer
    /// Kept so the connection outlives its subscriptions.
    private let connection: NATSConnection

    init(handle: LibNATSPointer, messages: AsyncStream<BusMessage>, connection: NATSConnection) {
        self.handle = handle
        self.messages = messages
        self.connection = connection
    }

    deinit {
        natsSubscription_Destroy(handle.pointer)
    }

    /// Stops delivery; ``messages`` ends once libnats has returned from the last handler call.
    public func unsubscribe() {
        _ = natsSubscription_Unsubscribe(handle.pointer)
    }
}
