import CLibWebSockets
import Glibc

/// `reusePort`: the service-thread side of ``SharedListener``. lws reports the adopted listening socket readable
/// as `LWS_CALLBACK_RAW_RX_FILE`; this accepts and gives each connection to lws as its own listener would, so
/// everything after the accept (handshake checks, admission limits, TLS) is the same code path.
extension ServerCore {
    /// Connections accepted per wake of the service thread; the rest wait in the kernel's backlog for the next
    /// pass (the loop is level-triggered), so a burst of connects cannot starve open connections.
    static let sharedAcceptsPerWakeMax = 64

    /// Opens the shared listener when `reusePort` is on; nil when lws listens by itself.
    func openSharedListener() throws(WebSocketServerError) -> SharedListener? {
        guard configuration.reusePort else { return nil }
        return try SharedListener.open(host: configuration.host, port: configuration.port)
    }

    /// Accepts up to ``sharedAcceptsPerWakeMax`` pending connections on `listener` (the raw-file wsi) and
    /// adopts each into its vhost. Always 0: a nonzero return would make lws close the listener.
    func acceptSharedConnections(_ listener: OpaquePointer) -> Int32 {
        serviceState.assertOnServiceThread()
        guard configuration.reusePort, let vhost = lws_get_vhost(listener) else {
            preconditionFailure("RAW_RX_FILE on a server without a shared listener")
        }
        let descriptor = lws_get_socket_fd(listener)
        for _ in 0..<Self.sharedAcceptsPerWakeMax {
            // accept, not accept4: Swift's Glibc hides the GNU extension. lws makes the socket non-blocking
            // when it adopts it; close-on-exec is set right below (lws's own listener sets none).
            let client = accept(descriptor, nil, nil)
            if client < 0 {
                if errno == ECONNABORTED || errno == EINTR { continue }
                // EAGAIN: the backlog is empty. Anything else (EMFILE, ENOBUFS) is lws's own listener's answer too:
                // log and wait for the next wake.
                if errno != EAGAIN && errno != EWOULDBLOCK {
                    configuration.log("accept on the shared listener failed: \(String(cString: strerror(errno)))")
                }
                break
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            adoptAccepted(client, into: vhost)
        }
        return 0
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
        if lws_adopt_socket_vhost(vhost, client) == nil {
            configuration.log("libwebsockets would not adopt an accepted connection; it was closed")
        }
    }
}
