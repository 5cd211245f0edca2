import CLibWebSockets

/// What the service thread keeps about one HTTP exchange on a dynamic route until it is handed over.
struct HTTPExchangeRecord {
    let route: HTTPRoute
    let method: HTTPMethod
    let path: String
    let query: [(name: String, value: String)]
    let headers: [String: String]
    let peerAddress: String
    var body: HTTPBodyCollector
    /// A POST/PUT/PATCH without `Content-Length`: its body is empty (RFC 9112 6.3), but lws 4.1 waits for one,
    /// so the connection closes after the answer instead of reading the next request.
    let closesAfterAnswer: Bool
}

/// Dynamic HTTP routes (``HTTPRoute``), all on the service thread: a request becomes an exchange with an id,
/// its body is collected up to `messageBytesMax`, it is handed to the route, and the answer (a whole response
/// or a stream) is written one piece per writeable callback. An exchange is registered in `records` like a
/// WebSocket connection, so wake-ups (`writableRequests`) and shutdown reach it the same way; a stream also
/// has an ``OutboundQueue``, so it obeys the same outbound limits.
extension ServerCore {
    /// Seconds a stream (or a long response) may have bytes waiting that the peer does not read before the
    /// connection is cut.
    var streamStallSeconds: Int32 { Int32(configuration.httpStreamStallSeconds) }

    /// LWS_CALLBACK_HTTP for a path that is not /healthz: starts an exchange, or answers 404 (no route),
    /// 411 (a chunked body, which lws 4.1 does not decode) or 503 (shutting down).
    func beginExchange(_ wsi: OpaquePointer, session: UnsafeMutablePointer<SessionData>?) -> Int32 {
        serviceState.assertOnServiceThread()
        guard let session, let (method, path) = methodAndPath(wsi),
              let route = routes.withLock({ routes in routes.first { $0.matches(path) } }) else {
            return refuse(wsi, status: HTTP_STATUS_NOT_FOUND)
        }
        guard serviceState.shutdownDeadline == nil else { return refuse(wsi, status: HTTP_STATUS_SERVICE_UNAVAILABLE) }
        // lws 4.1's HTTP/2 parser drops unknown headers: a route that reads some must not run without them (TLS
        // offers only http/1.1 for this reason; this guards a configuration that would offer h2 again).
        guard route.customHeaders.isEmpty || lws_get_network_wsi(wsi) == wsi else {
            return refuse(wsi, status: HTTP_STATUS_HTTP_VERSION_NOT_SUPPORTED)
        }
        let contentLength = header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH).flatMap { Int($0) }
        guard header(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) == nil else {
            return refuse(wsi, status: HTTP_STATUS_LENGTH_REQUIRED)
        }
        let id = serviceState.takeID()
        session.pointee.exchangeID = id
        var peer = [CChar](repeating: 0, count: 64)
        let address = lws_get_peer_simple(wsi, &peer, peer.count).map { String(cString: $0) } ?? ""
        // Not counted by the connection limiter (which counts WebSockets); released without it.
        serviceState.records[id] = ConnectionRecord(wsi: wsi, peerAddress: address)
        exchanges.withLock { $0.states[id] = HTTPExchangeState() }
        serviceState.exchanges[id] = HTTPExchangeRecord(
            route: route, method: method, path: path, query: queryArguments(wsi),
            headers: requestHeaders(wsi, custom: route.customHeaders), peerAddress: address,
            body: HTTPBodyCollector(bytesMax: configuration.messageBytesMax),
            closesAfterAnswer: method.expectsBody && contentLength == nil)
        // POST with `Content-Length: 0` gets BODY_COMPLETION from lws; other bodiless requests go now.
        let bodyFollows = (contentLength ?? 0) > 0 || (method == .post && contentLength == 0)
        if !bodyFollows { handOver(id) }
        return 0
    }

    /// LWS_CALLBACK_HTTP_BODY: one piece of the body (dropped past `messageBytesMax`, read to the end).
    func exchangeBody(session: UnsafeMutablePointer<SessionData>?, bytes: UnsafeRawBufferPointer) -> Int32 {
        serviceState.assertOnServiceThread()
        guard let id = session?.pointee.exchangeID, id != 0, serviceState.exchanges[id] != nil else { return 0 }
        serviceState.exchanges[id]?.body.append(bytes)
        return 0
    }

    /// LWS_CALLBACK_HTTP_BODY_COMPLETION: the whole body is in; the route gets the exchange.
    func exchangeBodyComplete(session: UnsafeMutablePointer<SessionData>?) -> Int32 {
        serviceState.assertOnServiceThread()
        guard let id = session?.pointee.exchangeID, id != 0 else { return 0 }
        handOver(id)
        return 0
    }

    private func handOver(_ id: ConnectionID) {
        guard let record = serviceState.exchanges[id] else { return }
        let request = HTTPRequest(id: id, method: record.method, path: record.path, query: record.query,
                                  headers: record.headers, body: record.body.bytes,
                                  bodyTooLarge: record.body.tooLarge, peerAddress: record.peerAddress)
        // The body now belongs to the request; the record keeps only what `closed` needs.
        serviceState.exchanges[id]?.body = HTTPBodyCollector(bytesMax: 1)
        record.route.handle(HTTPExchange(request: request, core: self))
    }

    /// Any thread: records the application's answer and asks the service thread to write it.
    func respond(_ id: ConnectionID, with answer: HTTPAnswer) -> Bool {
        let (accepted, wake) = exchanges.withLock { table -> (Bool, Bool) in
            guard table.states[id]?.answer(answer) == true else { return (false, false) }
            let wake = outbound.withLock { state in
                if case .stream = answer { state.queues[id] = OutboundQueue() }
                state.writableRequests.append(id)
                return state.wakeNeeded(true)
            }
            return (true, wake)
        }
        if wake { wakeServiceThread() }
        return accepted
    }

    /// LWS_CALLBACK_HTTP_WRITEABLE of an exchange; nil when the wsi is not one (e.g. /healthz).
    func exchangeWriteable(_ wsi: OpaquePointer, session: UnsafeMutablePointer<SessionData>?) -> Int32? {
        serviceState.assertOnServiceThread()
        guard let session, session.pointee.exchangeID != 0 else { return nil }
        let id = session.pointee.exchangeID
        let closing = serviceState.shutdownDeadline != nil
        let (step, isStream) = exchanges.withLock { table -> (HTTPWriteStep, Bool) in
            guard var state = table.states[id] else { return (.hangUp, false) }
            let step = state.nextStep(closing: closing) {
                outbound.withLock { $0.queues[id]?.nextStep() } ?? .close(CloseRequest(code: 1000, reason: "gone"))
            }
            table.states[id] = state
            return (step, state.isStream)
        }
        switch step {
        case .idle:
            // A stream's queue is empty and its last write has left lws: nothing is stalled.
            if isStream { lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0) }
            return 0
        case .writeHead(let head, let contentLength):
            var head = head
            if serviceState.exchanges[id]?.closesAfterAnswer == true { head.headers.append(("Connection", "close")) }
            guard writeHead(wsi, head, contentLength: contentLength) else { return -1 }
            if contentLength == nil { makeImmortal(wsi) }
            lws_callback_on_writable(wsi)
            return 0
        case .writeBody(let bytes, let final):
            let payload = serviceState.stage(bytes)
            guard lws_write(wsi, payload, bytes.count, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) >= 0 else {
                return -1
            }
            guard final else {
                // Asked again even when nothing more is queued: the next callback comes once lws has written
                // all of this, and clears the stall timer; a peer that reads nothing meets the timer.
                lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, streamStallSeconds)
                lws_callback_on_writable(wsi)
                return 0
            }
            let closes = serviceState.exchanges[id]?.closesAfterAnswer ?? true
            endExchange(id, session: session)
            // Closing flushes what lws still holds of the answer first (LRS_FLUSHING_BEFORE_CLOSE).
            if closes { return -1 }
            return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
        case .hangUp:
            endExchange(id, session: session)
            return -1
        }
    }

    /// LWS_CALLBACK_CLOSED_HTTP or HTTP_DROP_PROTOCOL: the exchange is over, whatever its state.
    func exchangeClosed(session: UnsafeMutablePointer<SessionData>?) {
        guard let session, session.pointee.exchangeID != 0 else { return }
        serviceState.assertOnServiceThread()
        endExchange(session.pointee.exchangeID, session: session)
    }

    /// Forgets the exchange everywhere and tells its route (if the route had it). Before any lws call that may
    /// free the session data (transaction completed, close), so it runs exactly once.
    private func endExchange(_ id: ConnectionID, session: UnsafeMutablePointer<SessionData>) {
        session.pointee.exchangeID = 0
        serviceState.records[id] = nil
        let record = serviceState.exchanges.removeValue(forKey: id)
        exchanges.withLock { table in
            table.states[id] = nil
            outbound.withLock { _ = $0.queues.removeValue(forKey: id) }
        }
        record?.route.closed(id)
    }

    /// A stream is exempt from lws's idle timeouts (the stall timer guards it instead) and gives back its
    /// header storage. `lws_http_mark_sse` does both but only knows HTTP/2 streams (it logs an error on 1.1).
    private func makeImmortal(_ wsi: OpaquePointer) {
        if lws_get_network_wsi(wsi) != wsi {
            lws_http_mark_sse(wsi)
        } else {
            lws_http_headers_detach(wsi)
            lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0)
        }
    }

    /// Status line, content type, length (or none, for a stream) and the extra headers, in one write.
    private func writeHead(_ wsi: OpaquePointer, _ head: HTTPResponseHead, contentLength: Int?) -> Bool {
        let extraBytes = head.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        let buffer = serviceState.headerBuffer(bytesMax: 1_024 + extraBytes + head.contentType.utf8.count
            + configuration.responseHeaders.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 })
        let start = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var cursor: UnsafeMutablePointer<UInt8>? = start
        let end = start + buffer.count - 1
        let length = contentLength.map { lws_filepos_t($0) } ?? bankhub_lws_unknown_content_length()
        guard lws_add_http_common_headers(wsi, UInt32(head.status), head.contentType, length, &cursor, end) == 0 else {
            return false
        }
        for header in head.headers {
            let name = Array((header.name.lowercased() + ":").utf8)
            let value = Array(header.value.utf8)
            guard lws_add_http_header_by_name(wsi, name + [0], value, Int32(value.count), &cursor, end) == 0 else {
                return false
            }
        }
        return lws_finalize_write_http_header(wsi, start, &cursor, end) == 0
    }

    /// A status with lws's small built-in body, then close: for requests no route can take.
    private func refuse(_ wsi: OpaquePointer, status: http_status) -> Int32 {
        if lws_return_http_status(wsi, UInt32(status.rawValue), nil) != 0 { return -1 }
        if status == HTTP_STATUS_NOT_FOUND { return lws_http_transaction_completed(wsi) != 0 ? -1 : 0 }
        return -1
    }

    private func methodAndPath(_ wsi: OpaquePointer) -> (HTTPMethod, String)? {
        var uri: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let index = lws_http_get_uri_and_method(wsi, &uri, &length)
        guard index >= 0, let uri, length > 0 else { return nil }
        let path = String(decoding: UnsafeRawBufferPointer(start: uri, count: Int(length)), as: UTF8.self)
        let method: HTTPMethod?
        switch Int(index) {
        case Int(LWSHUMETH_GET): method = .get
        case Int(LWSHUMETH_POST): method = .post
        case Int(LWSHUMETH_OPTIONS): method = .options
        case Int(LWSHUMETH_PUT): method = .put
        case Int(LWSHUMETH_PATCH): method = .patch
        case Int(LWSHUMETH_DELETE): method = .delete
        case Int(LWSHUMETH_HEAD): method = .head
        // HTTP/2: the method is a pseudo-header of its own.
        case Int(LWSHUMETH_COLON_PATH): method = header(wsi, WSI_TOKEN_HTTP_COLON_METHOD).flatMap(HTTPMethod.init)
        default: method = nil
        }
        return method.map { ($0, path) }
    }

    /// Every header libwebsockets parsed into a token (names end with ':' in its table; method lines and
    /// pseudo-headers do not), plus the route's custom ones.
    private func requestHeaders(_ wsi: OpaquePointer, custom: [String]) -> [String: String] {
        var headers: [String: String] = [:]
        for raw in 0..<_WSI_TOKEN_CLIENT_SENT_PROTOCOLS.rawValue {
            let token = lws_token_indexes(rawValue: raw)
            guard lws_hdr_total_length(wsi, token) > 0, let name = lws_token_to_string(token) else { continue }
            let text = String(cString: name)
            guard text.hasSuffix(":"), !text.hasPrefix(":"), let value = header(wsi, token) else { continue }
            headers[String(text.dropLast())] = value
        }
        for name in custom {
            let key = Array((name + ":").utf8CString)
            let length = Int(lws_hdr_custom_length(wsi, key, Int32(key.count - 1)))
            guard length >= 0 else { continue }
            var buffer = [CChar](repeating: 0, count: length + 1)
            guard lws_hdr_custom_copy(wsi, &buffer, Int32(buffer.count), key, Int32(key.count - 1)) >= 0 else {
                continue
            }
            headers[name] = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return headers
    }

    private func queryArguments(_ wsi: OpaquePointer) -> [(name: String, value: String)] {
        var arguments: [(name: String, value: String)] = []
        var index: Int32 = 0
        while true {
            let length = Int(lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, index))
            guard length > 0 else { break }
            var buffer = [CChar](repeating: 0, count: length + 1)
            guard lws_hdr_copy_fragment(wsi, &buffer, Int32(buffer.count), WSI_TOKEN_HTTP_URI_ARGS, index) >= 0 else {
                break
            }
            let fragment = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            arguments.append(HTTPRequest.queryArgument(fragment))
            index += 1
        }
        return arguments
    }
}
