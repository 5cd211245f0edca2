import CLibWebSockets

/// GET /healthz, answered by our callback; dynamic routes go to ServerCore+Exchanges.swift; everything else
/// HTTP is lws's (mounts, 404s).
extension ServerCore {
    /// Room for the status line plus the configured response headers.
    private var headerBytesMax: Int {
        1_024 + configuration.responseHeaders.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
    }

    func httpRequest(_ wsi: OpaquePointer, session: UnsafeMutablePointer<SessionData>?) -> Int32 {
        serviceState.assertOnServiceThread()
        guard let session, header(wsi, WSI_TOKEN_GET_URI) == LwsResources.healthPath else {
            return beginExchange(wsi, session: session)
        }
        let body = health()
        let requestID = serviceState.takeID()
        serviceState.pendingHTTPBodies[requestID] = body
        session.pointee.httpRequestID = requestID
        let buffer = serviceState.headerBuffer(bytesMax: headerBytesMax)
        let start = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var cursor: UnsafeMutablePointer<UInt8>? = start
        let end = start + buffer.count - 1
        guard lws_add_http_common_headers(wsi, UInt32(HTTP_STATUS_OK.rawValue), "application/json",
                                          lws_filepos_t(body.count), &cursor, end) == 0,
              lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, "no-store", 8,
                                           &cursor, end) == 0,
              lws_finalize_write_http_header(wsi, start, &cursor, end) == 0 else { return 1 }
        lws_callback_on_writable(wsi)
        return 0
    }

    /// Writes the /healthz body; nil means "not ours", let lws handle the callback.
    func httpWriteable(_ wsi: OpaquePointer, session: UnsafeMutablePointer<SessionData>?) -> Int32? {
        serviceState.assertOnServiceThread()
        guard let session, session.pointee.httpRequestID != 0 else { return nil }
        let body = serviceState.pendingHTTPBodies.removeValue(forKey: session.pointee.httpRequestID) ?? []
        session.pointee.httpRequestID = 0
        let payload = serviceState.stage(body)
        guard lws_write(wsi, payload, body.count, LWS_WRITE_HTTP_FINAL) >= 0 else { return -1 }
        return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
    }

    func httpClosed(session: UnsafeMutablePointer<SessionData>?) {
        guard let session, session.pointee.httpRequestID != 0 else { return }
        serviceState.pendingHTTPBodies[session.pointee.httpRequestID] = nil
        session.pointee.httpRequestID = 0
    }
}
