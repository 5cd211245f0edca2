import CLibWebSockets

/// WebSocket callbacks, all on the service thread.
extension ServerCore {
    /// Path and Origin rule for an upgrade request.
    func verdict(for wsi: OpaquePointer) -> HandshakePolicy.Verdict {
        policy.verdict(path: header(wsi, WSI_TOKEN_GET_URI) ?? "",
                       origin: header(wsi, WSI_TOKEN_ORIGIN),
                       host: header(wsi, WSI_TOKEN_HOST))
    }

    /// Refuses an upgrade with HTTP 403 before lws switches the connection to WebSocket.
    func confirmUpgrade(_ wsi: OpaquePointer) -> Int32 {
        serviceState.assertOnServiceThread()
        let verdict = verdict(for: wsi)
        guard verdict != .accept else { return 0 }
        configuration.log("refused upgrade (\(verdict)) for \(header(wsi, WSI_TOKEN_GET_URI) ?? "?")")
        if lws_return_http_status(wsi, UInt32(HTTP_STATUS_FORBIDDEN.rawValue), nil) != 0 { return -1 }
        return 1
    }

    func established(_ wsi: OpaquePointer, session: UnsafeMutablePointer<SessionData>?) -> Int32 {
        serviceState.assertOnServiceThread()
        guard let session, serviceState.shutdownDeadline == nil else { return -1 }
        let id = serviceState.takeID()
        session.pointee.connectionID = id
        serviceState.records[id] = ConnectionRecord(wsi: wsi)
        outbound.withLock { $0.queues[id] = OutboundQueue() }
        var peer = [CChar](repeating: 0, count: 64)
        let address = lws_get_peer_simple(wsi, &peer, peer.count).map { String(cString: $0) } ?? ""
        let info = ConnectionInfo(peerAddress: address,
                                  userAgent: header(wsi, WSI_TOKEN_HTTP_USER_AGENT),
                                  origin: header(wsi, WSI_TOKEN_ORIGIN))
        continuation.yield(.opened(id, info))
        return 0
    }

    /// Reassembles fragments; a message over the limit gets the reply, then close 1009.
    func received(_ wsi: OpaquePointer, session: UnsafeMutablePointer<SessionData>?,
                  bytes: UnsafeRawBufferPointer) -> Int32 {
        serviceState.assertOnServiceThread()
        guard let id = session?.pointee.connectionID, id != 0,
              let record = serviceState.records[id] else { return 0 }
        let isLastPiece = lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0
        if record.discardingInbound {
            return 0
        }
        if record.partialMessage.count + bytes.count > configuration.messageBytesMax {
            serviceState.records[id]?.partialMessage = []
            serviceState.records[id]?.discardingInbound = true
            rejectTooLarge(id, wsi: wsi)
            return 0
        }
        if record.partialMessage.isEmpty && isLastPiece {
            deliver(Array(bytes), from: id, wsi: wsi)
            return 0
        }
        serviceState.records[id]?.partialMessage.append(contentsOf: bytes)
        if isLastPiece, let message = serviceState.records[id]?.partialMessage {
            serviceState.records[id]?.partialMessage = []
            deliver(message, from: id, wsi: wsi)
        }
        return 0
    }

    /// Hands a complete message to the application; stops reading the socket when its backlog is full.
    private func deliver(_ message: [UInt8], from id: ConnectionID, wsi: OpaquePointer) {
        continuation.yield(.message(id, message))
        if inbound.received(id) { lws_rx_flow_control(wsi, 0) }
    }

    private func rejectTooLarge(_ id: ConnectionID, wsi: OpaquePointer) {
        let reply = configuration.tooLargeReply
        let request = CloseRequest(code: TransportCloseCode.messageTooBig, reason: "message too big")
        outbound.withLock { state in
            // The reply goes out even if the queue is near its limits: it explains the close.
            _ = state.queues[id]?.enqueue(reply, bytesMax: .max, messagesMax: .max)
            _ = state.queues[id]?.requestClose(request)
        }
        lws_callback_on_writable(wsi)
    }

    /// Writes one queued message (lws allows one write per writeable callback), or the close.
    func writeable(_ wsi: OpaquePointer, session: UnsafeMutablePointer<SessionData>?) -> Int32 {
        serviceState.assertOnServiceThread()
        guard let id = session?.pointee.connectionID, id != 0 else { return 0 }
        let step = outbound.withLock { $0.queues[id]?.nextStep() } ?? .idle
        switch step {
        case .idle:
            return 0
        case .write(let bytes, let moreRemain):
            let payload = serviceState.stage(bytes)
            let written = lws_write(wsi, payload, bytes.count, LWS_WRITE_TEXT)
            guard written >= 0 else { return -1 }
            if moreRemain { lws_callback_on_writable(wsi) }
            return 0
        case .close(let request):
            var reason = Array(request.reason.utf8.prefix(123))
            lws_close_reason(wsi, lws_close_status(rawValue: UInt32(request.code)), &reason, reason.count)
            return -1
        }
    }

    func closed(session: UnsafeMutablePointer<SessionData>?) {
        serviceState.assertOnServiceThread()
        guard let id = session?.pointee.connectionID, id != 0 else { return }
        session?.pointee.connectionID = 0
        serviceState.records[id] = nil
        outbound.withLock { _ = $0.queues.removeValue(forKey: id) }
        inbound.remove(id)
        continuation.yield(.closed(id))
    }
}
