import CLibWebSockets
import Glibc

/// What the service thread knows about one open WebSocket connection.
struct ConnectionRecord {
    /// The lws handle; valid until LWS_CALLBACK_CLOSED for this connection.
    let wsi: OpaquePointer
    /// The peer's numeric address, as counted by the connection limiter.
    let peerAddress: String
    /// Fragments of the message being received, reassembled here.
    var partialMessage: [UInt8] = []
    /// UTF-8 validation of the text message being received.
    var utf8 = UTF8Stream()
    /// True after a too-large message: the rest of its frames are dropped while the 1009 close runs.
    var discardingInbound = false
    /// A data frame arrived since the last writeable callback. lws answers a ping in the writeable path, before
    /// our callback, and never tells us of the ping; a ping may have come with that frame, so messages queued
    /// now wait for the writeable callback instead of being written on the wake-up, and the pong leaves first
    /// (RFC 6455 5.5.2; Autobahn 5.6, 5.7, 5.19, 5.20 check the order).
    var receivedSinceWriteable = false
}

/// State only the lws service thread may touch: `struct lws *` handles, reassembly buffers, scratch.
///
/// Every access goes through ``confined(_:)``, which checks the calling thread.
// @unchecked Sendable: the instance is shared with the service thread at start, and from then on only
// that thread reads or writes it (asserted by `assertOnServiceThread`).
final class ServiceThreadState: @unchecked Sendable {
    var records: [ConnectionID: ConnectionRecord] = [:]
    /// When each closing connection must be gone.
    var closeDeadlines: CloseDeadlines
    /// Open connections in total and per address.
    var limiter: ConnectionLimiter
    /// HTTP /healthz bodies waiting for their writeable callback, by request id.
    var pendingHTTPBodies: [UInt64: [UInt8]] = [:]
    /// HTTP exchanges on dynamic routes, by id (they also have an entry in `records`).
    var exchanges: [ConnectionID: HTTPExchangeRecord] = [:]
    var nextID: UInt64 = 1
    var context: OpaquePointer?
    /// The safety-net timer (owned by LwsResources; its address is fixed).
    var timer: UnsafeMutablePointer<bankhub_lws_timer>?
    /// Our foreign libev loop when running on libev; nil for poll.
    var libevLoop: UnsafeMutableRawPointer?
    /// Set when shutdown has closed every connection (or gave up waiting): the loop must end.
    var loopExitRequested = false
    var shutdownDeadline: ContinuousClock.Instant?
    /// Whether the listener is paused after accept ran out of descriptors or memory, and the
    /// listener's wsi while it is (ServerCore+Listener.swift).
    var acceptBackoff = AcceptBackoff()
    var pausedListener: OpaquePointer?
    private var serviceThread: pthread_t?
    /// Reused buffer for lws_write: LWS_PRE bytes of headroom, then the payload.
    private var scratch: UnsafeMutableRawBufferPointer = .allocate(byteCount: 64 * 1024, alignment: 16)

    init(closeDeadlines: CloseDeadlines, limiter: ConnectionLimiter) {
        self.closeDeadlines = closeDeadlines
        self.limiter = limiter
    }

    deinit { scratch.deallocate() }

    /// Called first thing on the service thread; binds this state to it.
    func adoptCurrentThread() {
        precondition(serviceThread == nil, "service thread adopted twice")
        serviceThread = pthread_self()
    }

    func assertOnServiceThread() {
        guard let serviceThread else { preconditionFailure("service thread not started") }
        precondition(pthread_equal(serviceThread, pthread_self()) != 0, "lws state touched off its thread")
    }

    func takeID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }

    /// A buffer with LWS_PRE headroom followed by `bytes`; the pointer is to the payload.
    func stage(_ bytes: [UInt8]) -> UnsafeMutablePointer<UInt8> {
        let pre = Int(bankhub_lws_pre)
        if scratch.count < pre + bytes.count {
            scratch.deallocate()
            scratch = .allocate(byteCount: max(pre + bytes.count, scratch.count * 2), alignment: 16)
        }
        let payload = scratch.baseAddress!.advanced(by: pre)
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress { payload.copyMemory(from: base, byteCount: source.count) }
        }
        return payload.assumingMemoryBound(to: UInt8.self)
    }

    /// A zeroed buffer of `bytesMax` payload bytes after LWS_PRE, for building HTTP headers.
    func headerBuffer(bytesMax: Int) -> UnsafeMutableRawBufferPointer {
        let pre = Int(bankhub_lws_pre)
        if scratch.count < pre + bytesMax {
            scratch.deallocate()
            scratch = .allocate(byteCount: pre + bytesMax, alignment: 16)
        }
        return UnsafeMutableRawBufferPointer(rebasing: scratch[pre..<(pre + bytesMax)])
    }
}

/// The per-session data lws allocates for each wsi of our protocol (zeroed by lws).
struct SessionData {
    /// 0 until the WebSocket handshake completes.
    var connectionID: UInt64
    /// 0 unless this HTTP transaction is a /healthz request with a body pending.
    var httpRequestID: UInt64
    /// 0 unless this HTTP transaction is an exchange on a dynamic route (ServerCore+Exchanges.swift).
    var exchangeID: UInt64
}
