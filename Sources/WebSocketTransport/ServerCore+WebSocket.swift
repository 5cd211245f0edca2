import CLibWebSockets
import Glibc

/// WebSocket callbacks, all on the service thread.
extension ServerCore {
    /// Path, Host and Origin rule for an upgrade request.
    func verdict(for wsi: OpaquePointer) -> HandshakePolicy.Verdict {
        policy.verdict(path: header(wsi, WSI_TOKEN_GET_URI) ?? "",
                       origin: header(wsi, WSI_TOKEN_ORIGIN),
                       host: header(wsi, WSI_TOKEN_HOST))
    }

    /// Refuses an upgrade before lws switches the connection to WebSocket: HTTP 403 for a wrong path or a
    /// foreign Host or Origin, HTTP 503 past a connection limit.
    func confirmUpgrade(_ wsi: OpaquePointer) -> Int32 {
        serviceState.assertOnServiceThread()
        let verdict = verdict(for: wsi)
        if verdict != .accept {
            statistics.countRefusedHandshake()
            configuration.log("refused upgrade (\(verdict)) for \(header(wsi, WSI_TOKEN_GET_URI) ?? "?")")
            return refuseUpgrade(wsi, status: HTTP_STATUS_FORBIDDEN)
        }
        let address = peerAddress(wsi)
        let admission = serviceState.limiter.verdict(for: address)
        if admission != .admit {
            statistics.countLimitRefusal()
            configuration.log("refused upgrade from \(address) (\(admission)): connection limit reached")
            return refuseUpgrade(wsi, status: HTTP_STATUS_SERVICE_UNAVAILABLE)
        }
        return 0
    }

    private func refuseUpgrade(_ wsi: OpaquePointer, status: http_status) -> Int32 {
        if lws_return_http_status(wsi, UInt32(status.rawValue), nil) != 0 { return -1 }
        return 1
    }

    /// The peer's numeric address ("127.0.0.1", "::1").
    func peerAddress(_ wsi: OpaquePointer) -> String {
        var peer = [CChar](repeating: 0, count: 64)
        return lws_get_peer_simple(wsi, &peer, peer.count).map { String(cString: $0) } ?? ""
    }

    func established(_ wsi: OpaquePointer, session: UnsafeMutablePointer<SessionData>?) -> Int32 {
        serviceState.assertOnServiceThread()
        guard let session, serviceState.shutdownDeadline == nil else { return -1 }
        let address = peerAddress(wsi)
        // Checked again: another upgrade may have completed between this one's confirmation and now.
        guard serviceState.limiter.verdict(for: address) == .admit else {
            statistics.countLimitRefusal()
            return -1
        }
        serviceState.limiter.opened(address)
        if let bytes = configuration.socketSendBufferBytes {
            var size = Int32(clamping: bytes)
            setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let id = serviceState.takeID()
        session.pointee.connectionID = id
        serviceState.records[id] = ConnectionRecord(wsi: wsi, peerAddress: address)
        outbound.withLock { $0.queues[id] = OutboundQueue() }
        let info = ConnectionInfo(peerAddress: address,
                                  userAgent: header(wsi, WSI_TOKEN_HTTP_USER_AGENT),
                                  origin: header(wsi, WSI_TOKEN_ORIGIN))
        report(.opened(id, info))
        return 0
    }

    /// Reassembles fragments; a message over the limit gets the reply, then close 1009.
    func received(_ wsi: OpaquePointer, session: UnsafeMutablePointer<SessionData>?,
                  bytes: UnsafeRawBufferPointer) -> Int32 {
        serviceState.assertOnServiceThread()
        guard let id = session?.pointee.connectionID, id != 0,
              let record = serviceState.records[id] else { return 0 }
        let isLastPiece = lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0
        if !record.receivedSinceWriteable { serviceState.records[id]?.receivedSinceWriteable = true }
        if record.discardingInbound {
            return 0
        }
        if record.partialMessage.count + bytes.count > configuration.messageBytesMax {
            serviceState.records[id]?.partialMessage = []
            serviceState.records[id]?.discardingInbound = true
            rejectTooLarge(id, wsi: wsi)
            return 0
        }
        // lws keeps the first frame's opcode for the whole message, continuations included.
        let isBinary = lws_frame_is_binary(wsi) != 0
        if !isBinary {
            // Checked piece by piece, so a bad byte fails the connection before the rest of the message.
            var utf8 = record.utf8
            guard utf8.feed(bytes), !isLastPiece || utf8.isAtBoundary else { return failInvalidUTF8(id, wsi: wsi) }
            serviceState.records[id]?.utf8 = isLastPiece ? UTF8Stream() : utf8
        }
        if record.partialMessage.isEmpty && isLastPiece {
            deliver(Array(bytes), isBinary: isBinary, from: id, wsi: wsi)
            return 0
        }
        serviceState.records[id]?.partialMessage.append(contentsOf: bytes)
        if isLastPiece, let message = serviceState.records[id]?.partialMessage {
            serviceState.records[id]?.partialMessage = []
            deliver(message, isBinary: isBinary, from: id, wsi: wsi)
        }
        return 0
    }

    /// Hands a complete message to the application; stops reading the socket when its backlog is full.
    private func deliver(_ message: [UInt8], isBinary: Bool, from id: ConnectionID, wsi: OpaquePointer) {
        let count = message.count
        report(isBinary ? .binaryMessage(id, message) : .message(id, message))
        if inbound.received(id, byteCount: count) { lws_rx_flow_control(wsi, 0) }
    }

    /// A text message that is not UTF-8: close 1007 at once (RFC 6455 §8.1), dropping what was queued.
    private func failInvalidUTF8(_ id: ConnectionID, wsi: OpaquePointer) -> Int32 {
        serviceState.records[id]?.partialMessage = []
        serviceState.records[id]?.discardingInbound = true
        startCloseDeadline(id, wsi: wsi)
        var reason = Array("invalid UTF-8 in a text message".utf8)
        lws_close_reason(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD, &reason, reason.count)
        return -1
    }

    private func rejectTooLarge(_ id: ConnectionID, wsi: OpaquePointer) {
        let reply = OutboundMessage(bytes: configuration.tooLargeReply, kind: .text)
        let request = CloseRequest(code: TransportCloseCode.messageTooBig, reason: "message too big")
        outbound.withLock { state in
            // The reply goes out even if the queue is near its limits: it explains the close.
            _ = state.queues[id]?.enqueue(reply, bytesMax: .max, messagesMax: .max)
            _ = state.queues[id]?.requestClose(request)
        }
        startCloseDeadline(id, wsi: wsi)
        lws_callback_on_writable(wsi)
    }

    /// Writes every queued message the connection takes now, within ``WriteBudget/perCallback`` (32 messages or
    /// 64 KiB, so one connection cannot hold the service thread), then the close if it is next; asks for another
    /// callback while anything is left.
    ///
    /// lws 4.1.6 sends each `lws_write` with one send(2); it has no vectored write (a frame per call; only
    /// hand-framing with LWS_WRITE_RAW would join frames). What the socket does not take it keeps and flushes on
    /// its own, reporting the pipe choked until then and asking for the next writeable callback itself. A write
    /// while choked would only grow lws's buffer, so each further write is preceded by `lws_send_pipe_choked`
    /// (which also tells lws the back-to-back write is deliberate): per connection lws holds at most one partly
    /// written message besides our queue. Messages leave the queue (and its limits) once handed to lws.
    func writeable(_ wsi: OpaquePointer, session: UnsafeMutablePointer<SessionData>?) -> Int32 {
        serviceState.assertOnServiceThread()
        if let id = session?.pointee.connectionID, serviceState.records[id]?.receivedSinceWriteable == true {
            serviceState.records[id]?.receivedSinceWriteable = false
        }
        guard let id = session?.pointee.connectionID, id != 0,
              let batch = outbound.withLock({ $0.queues[id]?.peek(within: .perCallback) }), !batch.isEmpty else {
            return 0
        }
        guard let written = writeFrames(batch, to: wsi, checkFirst: false) else { return -1 }
        if written > 0 { statistics.countWriteCallback(frames: written) }
        let moreRemain = outbound.withLock { $0.queues[id]?.consume(written) } ?? false
        if written == batch.messages.count, let request = batch.close,
           written == 0 || lws_send_pipe_choked(wsi) == 0 {
            var reason = Array(request.reason.utf8.prefix(123))
            lws_close_reason(wsi, lws_close_status(rawValue: UInt32(request.code)), &reason, reason.count)
            return -1
        }
        if moreRemain { lws_callback_on_writable(wsi) }
        return 0
    }

    /// Writes `batch`'s messages in order while the socket takes them (from the second on, or from the first
    /// also before the first when `checkFirst`); returns how many were written, nil when lws failed
    /// the connection.
    func writeFrames(_ batch: WriteBatch, to wsi: OpaquePointer, checkFirst: Bool) -> Int? {
        var written = 0
        for message in batch.messages {
            if (written > 0 || checkFirst) && lws_send_pipe_choked(wsi) != 0 { break }
            guard write(message, to: wsi) else { return nil }
            written += 1
        }
        return written
    }

    /// One message as one frame; false when lws failed the connection.
    private func write(_ message: OutboundMessage, to wsi: OpaquePointer) -> Bool {
        let payload = serviceState.stage(message.bytes)
        let protocolKind = message.kind == .binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT
        return lws_write(wsi, payload, message.bytes.count, protocolKind) >= 0
    }

    func closed(session: UnsafeMutablePointer<SessionData>?) {
        serviceState.assertOnServiceThread()
        guard let id = session?.pointee.connectionID, id != 0 else { return }
        session?.pointee.connectionID = 0
        if let record = serviceState.records.removeValue(forKey: id) {
            serviceState.limiter.closed(record.peerAddress)
        }
        serviceState.closeDeadlines.remove(id)
        outbound.withLock { _ = $0.queues.removeValue(forKey: id) }
        inbound.remove(id)
        report(.closed(id))
    }
}
