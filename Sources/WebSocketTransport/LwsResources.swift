import CLibWebSockets
import Glibc

/// The C structures lws reads for the whole life of a context: protocols, mounts, headers, retry
/// policy, timer and every string they point to. Allocated once, at fixed addresses, freed after
/// the context is destroyed.
// @unchecked Sendable: built on the starting thread, then handed to the service thread, which alone
// uses and frees it; nothing mutates the C memory after `init`.
final class LwsResources: @unchecked Sendable {
    let protocols: UnsafeMutablePointer<lws_protocols>
    let mounts: UnsafeMutablePointer<lws_http_mount>
    let headers: UnsafeMutablePointer<lws_protocol_vhost_options>?
    let retryPolicy: UnsafeMutablePointer<lws_retry_bo_t>
    let timer: UnsafeMutablePointer<bankhub_lws_timer>
    /// The one-entry foreign loop array lws reads for libev (one service thread).
    let foreignLoops: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private let mountCount: Int
    private let headerCount: Int
    private var strings: [UnsafeMutablePointer<CChar>] = []
    static let healthPath = "/healthz"

    init(configuration: WebSocketServerConfiguration, routePrefixes: [String] = []) {
        protocols = .allocate(capacity: 2)
        mountCount = 1 + routePrefixes.count + (configuration.webRoot == nil ? 0 : 1)
        mounts = .allocate(capacity: mountCount)
        retryPolicy = .allocate(capacity: 1)
        timer = .allocate(capacity: 1)
        foreignLoops = .allocate(capacity: 1)
        foreignLoops.initialize(to: nil)
        headerCount = configuration.responseHeaders.count
        headers = headerCount > 0 ? .allocate(capacity: headerCount) : nil
        timer.initialize(to: bankhub_lws_timer())
        fillProtocols(configuration)
        fillMounts(configuration, routePrefixes: routePrefixes)
        fillHeaders(configuration)
        retryPolicy.initialize(to: lws_retry_bo_t(
            retry_ms_table: nil, retry_ms_table_count: 0, conceal_count: 0,
            secs_since_valid_ping: UInt16(configuration.pingIntervalSeconds),
            secs_since_valid_hangup: UInt16(configuration.idleTimeoutSeconds),
            jitter_percent: 0))
    }

    deinit {
        protocols.deinitialize(count: 2).deallocate()
        mounts.deinitialize(count: mountCount).deallocate()
        headers?.deinitialize(count: headerCount).deallocate()
        retryPolicy.deinitialize(count: 1).deallocate()
        timer.deinitialize(count: 1).deallocate()
        foreignLoops.deinitialize(count: 1).deallocate()
        for string in strings { free(string) }
    }

    /// A C copy of `text` that lives as long as these resources.
    private func keep(_ text: String) -> UnsafeMutablePointer<CChar> {
        guard let copy = strdup(text) else { fatalError("strdup failed: out of memory") }
        strings.append(copy)
        return copy
    }

    /// protocols[0] is the WebSocket protocol (lws binds HTTP to it too); then the terminator.
    private func fillProtocols(_ configuration: WebSocketServerConfiguration) {
        var webSocket = lws_protocols()
        webSocket.name = UnsafePointer(keep(configuration.subprotocol))
        webSocket.callback = transportProtocolCallback
        webSocket.per_session_data_size = MemoryLayout<SessionData>.size
        webSocket.rx_buffer_size = configuration.receiveBufferBytes
        protocols.initialize(to: webSocket)
        (protocols + 1).initialize(to: lws_protocols())
    }

    /// "/healthz" and each dynamic route's prefix go to our callback; "/" (when a web root is set) is served
    /// from disk by lws. The mounts form one linked list in that order.
    private func fillMounts(_ configuration: WebSocketServerConfiguration, routePrefixes: [String]) {
        var list = [callbackMount(Self.healthPath, configuration)]
        list += routePrefixes.map { callbackMount($0, configuration) }
        if let webRoot = configuration.webRoot {
            var files = lws_http_mount()
            files.mountpoint = UnsafePointer(keep("/"))
            files.mountpoint_len = 1
            files.origin = UnsafePointer(keep(webRoot))
            files.def = UnsafePointer(keep("index.html"))
            files.origin_protocol = UInt8(LWSMPRO_FILE.rawValue)
            list.append(files)
        }
        precondition(list.count == mountCount, "mount count mismatch")
        for index in list.indices {
            var mount = list[index]
            mount.mount_next = index + 1 < list.count ? UnsafePointer(mounts + index + 1) : nil
            (mounts + index).initialize(to: mount)
        }
    }

    private func callbackMount(_ path: String, _ configuration: WebSocketServerConfiguration) -> lws_http_mount {
        var mount = lws_http_mount()
        mount.mountpoint = UnsafePointer(keep(path))
        mount.mountpoint_len = UInt8(path.utf8.count)
        mount.origin = UnsafePointer(keep(configuration.subprotocol))
        mount.origin_protocol = UInt8(LWSMPRO_CALLBACK.rawValue)
        return mount
    }

    /// A linked list lws adds to every HTTP response it builds (status line helper).
    private func fillHeaders(_ configuration: WebSocketServerConfiguration) {
        guard let headers else { return }
        for (index, header) in configuration.responseHeaders.enumerated() {
            var option = lws_protocol_vhost_options()
            option.name = UnsafePointer(keep(header.name.lowercased() + ":"))
            option.value = UnsafePointer(keep(header.value))
            option.next = index + 1 < headerCount ? UnsafePointer(headers + index + 1) : nil
            (headers + index).initialize(to: option)
        }
    }

    /// The creation info for one context; every pointer in it refers to memory owned by `self`.
    func creationInfo(configuration: WebSocketServerConfiguration, user: UnsafeMutableRawPointer,
                      libevLoop: UnsafeMutableRawPointer?) -> lws_context_creation_info {
        var info = lws_context_creation_info()
        // The transport listens itself (TransportListener) and lws only serves the sockets it adopts.
        info.port = CONTEXT_PORT_NO_LISTEN_SERVER
        if !["", "0.0.0.0", "::", "*"].contains(configuration.host) {
            info.iface = UnsafePointer(keep(configuration.host))
        }
        info.protocols = UnsafePointer(protocols)
        info.mounts = UnsafePointer(mounts)
        info.headers = headers.map { UnsafePointer($0) }
        info.retry_and_idle_policy = UnsafePointer(retryPolicy)
        info.user = user
        // The time to a request head, after the accept and between keep-alive requests (lws's default is 5 s).
        info.timeout_secs = UInt32(configuration.httpIdleSeconds)
        info.keepalive_timeout = Int32(configuration.httpIdleSeconds)
        // No LWS_SERVER_OPTION_VALIDATE_UTF8: the transport validates text itself (see UTF8Stream).
        info.options = bankhub_option_fail_upon_unable_to_bind
        if !configuration.host.contains(":") { info.options |= bankhub_option_disable_ipv6 }
        if let libevLoop {
            info.options |= bankhub_option_libev
            foreignLoops.pointee = libevLoop
            info.foreign_loops = foreignLoops
        }
        if let certificate = configuration.tlsCertificatePath, let key = configuration.tlsPrivateKeyPath {
            info.options |= bankhub_option_ssl_global_init
            info.ssl_cert_filepath = UnsafePointer(keep(certificate))
            info.ssl_private_key_filepath = UnsafePointer(keep(key))
            // HTTP/1.1 only: lws 4.1's HTTP/2 parser drops headers it does not know, and dynamic routes read
            // some (Idempotency-Key, Last-Event-ID); a silently lost idempotency key could move money twice.
            info.alpn = UnsafePointer(keep("http/1.1"))
        }
        return info
    }
}
