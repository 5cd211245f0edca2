import CLibWebSockets
import Glibc

/// The service-thread side of ``TransportListener``. lws reports the adopted listening socket readable as
/// `LWS_CALLBACK_RAW_RX_FILE`; this accepts and gives each connection to lws as its own listener would, so
/// everything after the accept (handshake checks, admission limits, TLS) is lws's code path, and an accept that
/// runs out of descriptors pauses the listener instead of spinning (``AcceptBackoff``).
extension ServerCore {
    /// Connections accepted per wake of the service thread; the rest wait in the kernel's backlog for the next
    /// pass (the loop is level-triggered), so a burst of connects cannot starve open connections.
    static let acceptsPerWakeMax = 64

    /// Opens the listening socket (with SO_REUSEPORT when `reusePort` is on).
    func openTransportListener() throws(WebSocketServerError) -> TransportListener {
        try TransportListener.open(host: configuration.host, port: configuration.port,
                                   reusePort: configuration.reusePort)
    }

    /// Accepts up to ``acceptsPerWakeMax`` pending connections on `listener` (the raw-file wsi) and
    /// adopts each into its vhost. Always 0: a nonzero return would make lws close the listener.
    func acceptConnections(_ listener: OpaquePointer) -> Int32 {
        serviceState.assertOnServiceThread()
        guard let vhost = lws_get_vhost(listener) else {
            preconditionFailure("RAW_RX_FILE from a wsi without a vhost")
        }
        statistics.countListenerWake()
        // A readiness lws had already collected when the pause began: the backlog waits for the resume.
        guard !serviceState.acceptBackoff.isPaused else { return 0 }
        let descriptor = lws_get_socket_fd(listener)
        for _ in 0..<Self.acceptsPerWakeMax {
            let (client, error) = acceptOne(descriptor)
            if client >= 0 {
                serviceState.acceptBackoff.succeeded()
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                adoptAccepted(client, into: vhost)
                continue
            }
            if error == ECONNABORTED || error == EINTR { continue }
            if AcceptBackoff.exhaustsResources(error) {
                pauseTransportListener(listener, after: error)
            } else if error != EAGAIN && error != EWOULDBLOCK {
                // EAGAIN: the backlog is empty. Anything else: log and wait for the next wake.
                configuration.log("accept on the listener failed: \(String(cString: strerror(error)))")
            }
            break
        }
        return 0
    }

    /// One accept(2), or the failure the fault-injection point (``AcceptFaultInjection``) asks for; the error is
    /// errno read right after the call.
    private func acceptOne(_ descriptor: Int32) -> (client: Int32, error: Int32) {
        if let injected = configuration.acceptFaults?.take() { return (-1, injected) }
        // accept, not accept4: Swift's Glibc hides the GNU extension. lws makes the socket non-blocking
        // when it adopts it; close-on-exec is set by the caller (lws's own listener sets none).
        let client = accept(descriptor, nil, nil)
        return (client, client < 0 ? errno : 0)
    }

    /// Out of descriptors or memory: the connection stays in the backlog and the socket stays readable, so stop
    /// polling it (see ``AcceptBackoff``) until ``resumeTransportListenerIfDue()`` — one log line and one
    /// `acceptBackoffs` per episode, however many failures it holds.
    private func pauseTransportListener(_ listener: OpaquePointer, after error: Int32) {
        let pause = serviceState.acceptBackoff.failed(at: .now)
        serviceState.pausedListener = listener
        statistics.countAcceptResourceFailure()
        // Called inside RAW_RX_FILE, lws applies this as the callback returns (user_callback_handle_rxflow ->
        // __lws_rx_flow_control -> __lws_change_pollfd): POLLIN off, on poll and on libev alike.
        lws_rx_flow_control(listener, 0)
        guard pause.episodeStarted else { return }
        statistics.countAcceptBackoff()
        configuration.log("accept on the listener failed: \(String(cString: strerror(error))); not accepting "
                          + "for \(pause.pauseMilliseconds) ms, doubling up to "
                          + "\(AcceptBackoff.acceptBackoffMillisecondsMax) ms until an accept succeeds")
    }

    /// From the transport's 50 ms timer: polls the paused listener again once its pause is over (so a pause
    /// lasts up to one timer interval longer than asked).
    func resumeTransportListenerIfDue() {
        serviceState.assertOnServiceThread()
        guard let listener = serviceState.pausedListener,
              serviceState.acceptBackoff.resumeIfDue(at: .now) else { return }
        serviceState.pausedListener = nil
        // Outside any callback of this wsi, lws applies it at once. The wsi is valid: lws closes the raw-file
        // listener only when the context is destroyed (RAW_RX_FILE always returns 0).
        lws_rx_flow_control(listener, 1)
    }

    /// What lws's listener does between accept and adopt: socket options, then the network filter (which
    /// refuses everything once shutdown began, like `LWS_CALLBACK_FILTER_NETWORK_CONNECTION`), then adoption
    /// (HTTP, TLS if the vhost has it). lws closes the socket itself if adoption fails.
    private func adoptAccepted(_ client: Int32, into vhost: OpaquePointer) {
        guard serviceState.shutdownDeadline == nil else {
            Glibc.close(client)
            return
        }
        // lws sets TCP_NODELAY on every socket its listener accepts; small frames must not wait for Nagle.
        var yes: Int32 = 1
        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
        guard let wsi = lws_adopt_socket_vhost(vhost, client) else {
            configuration.log("libwebsockets would not adopt an accepted connection; it was closed")
            return
        }
        // Until its request head: lws's own deadline for an adopted socket is a fixed 10 s; ours is
        // `httpIdleSeconds` (lws replaces it once the head has arrived).
        lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE, Int32(configuration.httpIdleSeconds))
    }
}
