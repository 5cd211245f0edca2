import CLibWebSockets

/// Closing, on the service thread: every close gets a deadline, and a close the peer sends is checked.
extension ServerCore {
    /// Time left to write our close after failing a peer's invalid close: its own close already ended the
    /// handshake, so nothing else is worth waiting for.
    static let peerClosedGrace: Duration = .seconds(1)

    /// Starts `id`'s close deadline; an earlier one keeps running. The 50 ms timer enforces it
    /// (`dropOverdueCloses`), so the transport counts and logs every connection it has to drop.
    ///
    /// `within` shortens the wait where no closing handshake is left to wait for.
    func startCloseDeadline(_ id: ConnectionID, wsi: OpaquePointer, within: Duration? = nil) {
        serviceState.assertOnServiceThread()
        serviceState.closeDeadlines.closeRequested(id, at: .now, within: within)
    }

    /// Closes asked for from other threads (application closes, overflows): start their deadlines and ask
    /// for a writeable callback, which sends the close once the queue ahead of it is written.
    func startRequestedCloses() {
        serviceState.assertOnServiceThread()
        for id in outbound.withLock({ $0.takeCloseRequests() }) {
            guard let record = serviceState.records[id] else { continue }
            startCloseDeadline(id, wsi: record.wsi)
            lws_callback_on_writable(record.wsi)
        }
    }

    /// Drops the connections whose close is overdue (the timer runs this every 50 ms). lws closes each one
    /// asynchronously, flushing nothing, and then reports LWS_CALLBACK_CLOSED as usual.
    func dropOverdueCloses() {
        serviceState.assertOnServiceThread()
        for id in serviceState.closeDeadlines.expired(at: .now) {
            guard let record = serviceState.records[id] else { continue }
            statistics.countForcedClose()
            configuration.log("connection \(id): close not finished within \(configuration.closeTimeoutSeconds) s; dropping it")
            lws_set_timeout(record.wsi, PENDING_TIMEOUT_CLOSE_SEND, bankhub_lws_to_kill_async)
        }
    }

    /// The peer sent a close frame. A valid one is echoed by lws (return 0), which then closes at once; an
    /// invalid one is answered with 1002 or 1007 (return -1 after setting the reason). lws would then wait for
    /// the peer to answer our close, which it never does (it closed first): the connection is dropped
    /// `peerClosedGrace` later.
    func peerInitiatedClose(_ wsi: OpaquePointer, session: UnsafeMutablePointer<SessionData>?,
                            payload: UnsafeRawBufferPointer) -> Int32 {
        serviceState.assertOnServiceThread()
        let id = session?.pointee.connectionID ?? 0
        switch PeerClose.verdict(payload: Array(payload)) {
        case .echo:
            if id != 0 { startCloseDeadline(id, wsi: wsi) }
            return 0
        case .fail(let code, let reason):
            if id != 0 { startCloseDeadline(id, wsi: wsi, within: Self.peerClosedGrace) }
            var text = Array(reason.utf8.prefix(123))
            lws_close_reason(wsi, lws_close_status(rawValue: UInt32(code)), &text, text.count)
            return -1
        }
    }
}
