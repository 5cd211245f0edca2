import CLibWebSockets

/// The one lws protocol callback. It only finds the ``ServerCore`` (through the context user
/// pointer) and forwards; the work happens in the `ServerCore+…` extensions, on the service thread.
func transportProtocolCallback(_ wsi: OpaquePointer?, _ reason: lws_callback_reasons,
                               _ user: UnsafeMutableRawPointer?, _ input: UnsafeMutableRawPointer?,
                               _ length: Int) -> Int32 {
    guard let wsi, let context = lws_get_context(wsi), let owner = lws_context_user(context) else {
        return lws_callback_http_dummy(wsi, reason, user, input, length)
    }
    let core = Unmanaged<ServerCore>.fromOpaque(owner).takeUnretainedValue()
    let session = user?.assumingMemoryBound(to: SessionData.self)
    switch reason {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return core.serviceState.shutdownDeadline == nil ? 0 : -1
    case LWS_CALLBACK_RAW_RX_FILE:
        // Only the listening socket is adopted as a raw file (see TransportListener).
        return core.acceptConnections(wsi)
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return core.confirmUpgrade(wsi)
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return core.verdict(for: wsi) == .accept ? 0 : -1
    case LWS_CALLBACK_ESTABLISHED:
        return core.established(wsi, session: session)
    case LWS_CALLBACK_RECEIVE:
        return core.received(wsi, session: session, bytes: UnsafeRawBufferPointer(start: input, count: length))
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return core.writeable(wsi, session: session)
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        return core.peerInitiatedClose(wsi, session: session,
                                       payload: UnsafeRawBufferPointer(start: input, count: length))
    case LWS_CALLBACK_CLOSED:
        core.closed(session: session)
        return 0
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        core.serviceWoken()
        return 0
    case LWS_CALLBACK_HTTP:
        return core.httpRequest(wsi, session: session)
    case LWS_CALLBACK_HTTP_BODY:
        return core.exchangeBody(session: session, bytes: UnsafeRawBufferPointer(start: input, count: length))
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return core.exchangeBodyComplete(session: session)
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if let result = core.exchangeWriteable(wsi, session: session) { return result }
        if let result = core.httpWriteable(wsi, session: session) { return result }
    case LWS_CALLBACK_CLOSED_HTTP:
        core.exchangeClosed(session: session)
        core.httpClosed(session: session)
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        core.exchangeClosed(session: session)
    default:
        break
    }
    return lws_callback_http_dummy(wsi, reason, user, input, length)
}

/// The 50 ms safety-net timer: drains writable requests, ends an accept back-off, advances shutdown, re-arms itself.
func transportTimerCallback(_ sul: UnsafeMutablePointer<lws_sorted_usec_list_t>?) {
    guard let sul, let owner = bankhub_lws_timer_owner(sul) else { return }
    let core = Unmanaged<ServerCore>.fromOpaque(owner).takeUnretainedValue()
    core.resumeTransportListenerIfDue()
    core.serviceWoken()
    core.armTimer()
}

extension ServerCore {
    /// Microseconds between safety-net passes over the writable requests.
    static let timerIntervalMicroseconds: Int64 = 50_000

    /// (Re)schedules the safety-net timer; no-op once the loop is ending.
    func armTimer() {
        serviceState.assertOnServiceThread()
        guard !serviceState.loopExitRequested, let context = serviceState.context,
              let timer = serviceState.timer else { return }
        // The sul is the timer's first member, so the two addresses are the same.
        let sul = UnsafeMutableRawPointer(timer).assumingMemoryBound(to: lws_sorted_usec_list_t.self)
        lws_sul_schedule(context, 0, sul, transportTimerCallback, Self.timerIntervalMicroseconds)
    }

    /// The service thread was woken (cancel or timer): write what was queued (or ask for writeable callbacks where
    /// that must wait, see ``writeOnWake(_:)``), start the
    /// deadlines of new closes and drop the connections past theirs.
    func serviceWoken() {
        serviceState.assertOnServiceThread()
        writeOnWake(outbound.withLock { $0.takeWritableRequests() })
        for id in inbound.takeResumes() {
            if let record = serviceState.records[id] { lws_rx_flow_control(record.wsi, 1) }
        }
        startRequestedCloses()
        dropOverdueCloses()
        advanceShutdown()
    }

    /// Copies one request header, or nil when it is absent.
    func header(_ wsi: OpaquePointer, _ token: lws_token_indexes) -> String? {
        let length = Int(lws_hdr_total_length(wsi, token))
        guard length > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: length + 1)
        let copied = lws_hdr_copy(wsi, &buffer, Int32(buffer.count), token)
        guard copied >= 0 else { return nil }
        return String(decoding: buffer.prefix(Int(copied)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
