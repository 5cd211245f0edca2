import CLibWebSockets
import Glibc

/// The server's listening socket, made by the transport rather than lws for two reasons: `reusePort` (Debian's
/// lws 4.1.6 is built with `LWS_MAX_SMP 1` and sets SO_REUSEPORT only for several service threads, and
/// `LWS_SERVER_OPTION_ALLOW_LISTEN_SHARE` only matters on Windows), and accept failures (lws 4.1.6's own listener
/// keeps polling a socket whose accept fails with EMFILE: a busy loop; ours pauses, see ``AcceptBackoff``).
/// The vhost is created without a listener
/// (`CONTEXT_PORT_NO_LISTEN_SERVER`); this socket is adopted by lws as a raw file descriptor, so its readiness
/// arrives on the service thread as `LWS_CALLBACK_RAW_RX_FILE` (see `ServerCore.acceptConnections`).
///
/// Owns the descriptor until ``handOver(to:)``; dropped before that, it closes it.
struct TransportListener: ~Copyable {
    /// Connections the kernel may queue on this socket before they are accepted (the listen(2) backlog, capped
    /// by `net.core.somaxconn`); the same value lws gives its own listener (`LWS_SOMAXCONN`).
    static let backlogConnectionsMax = SOMAXCONN

    let descriptor: Int32
    /// The bound port (the kernel's choice when 0 was asked for).
    let port: Int

    private init(descriptor: Int32, port: Int) {
        precondition(descriptor >= 0 && (1...65_535).contains(port), "a listener needs a socket and a port")
        self.descriptor = descriptor
        self.port = port
    }

    deinit {
        Glibc.close(descriptor)
    }

    /// socket, SO_REUSEADDR (+ SO_REUSEPORT with `reusePort`), bind, listen; non-blocking and close-on-exec.
    /// `.addressInUse` when the address is held (with `reusePort`: by a socket without SO_REUSEPORT, or another
    /// user's), `.listenFailed` for the rest.
    static func open(host: String, port: Int, reusePort: Bool) throws(WebSocketServerError) -> TransportListener {
        let label = "\(host):\(port)"
        let resolved = try resolve(host: host, port: port)
        var address = resolved.address
        let type = Int32(Glibc.SOCK_STREAM.rawValue) | Int32(Glibc.SOCK_NONBLOCK.rawValue)
            | Int32(Glibc.SOCK_CLOEXEC.rawValue)
        let descriptor = socket(Int32(address.ss_family), type, 0)
        guard descriptor >= 0 else { throw failure(.listenFailed, "socket() for \(label)") }
        var yes: Int32 = 1
        let size = socklen_t(MemoryLayout<Int32>.size)
        // SO_REUSEADDR as lws sets it: a restarted hub binds while old connections sit in TIME_WAIT.
        guard setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, size) == 0,
              !reusePort || setsockopt(descriptor, SOL_SOCKET, SO_REUSEPORT, &yes, size) == 0 else {
            defer { Glibc.close(descriptor) }
            throw failure(.listenFailed, "SO_REUSEADDR/SO_REUSEPORT on \(label)")
        }
        // C boundary: bind takes a sockaddr*; sockaddr_storage fits and aligns any family, and bind reads only
        // the `resolved.length` bytes getaddrinfo filled in.
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, resolved.length)
            }
        }
        guard bound == 0, listen(descriptor, backlogConnectionsMax) == 0 else {
            let inUse = errno == EADDRINUSE
            defer { Glibc.close(descriptor) }
            if inUse {
                throw WebSocketServerError(.addressInUse, "cannot listen on \(label): address already in use"
                                           + (reusePort ? " by a socket without SO_REUSEPORT" : ""))
            }
            throw failure(.listenFailed, "bind/listen on \(label)")
        }
        guard let boundPort = boundPort(descriptor) else {
            defer { Glibc.close(descriptor) }
            throw failure(.listenFailed, "getsockname on \(label)")
        }
        return TransportListener(descriptor: descriptor, port: boundPort)
    }

    /// Gives the socket to lws on `vhost` as a raw file descriptor (service thread, before the loop runs).
    /// From here lws owns it and closes it when the context is destroyed.
    consuming func handOver(to vhost: OpaquePointer) throws(WebSocketServerError) {
        let descriptor = self.descriptor
        discard self
        var handle = lws_sock_file_fd_type()
        handle.filefd = descriptor
        // No protocol name: the wsi binds to protocols[0], whose callback forwards RAW_RX_FILE to us.
        guard lws_adopt_descriptor_vhost(vhost, LWS_ADOPT_RAW_FILE_DESC, handle, nil, nil) != nil else {
            // For a raw file lws closes nothing on failure: the descriptor is still ours.
            Glibc.close(descriptor)
            throw WebSocketServerError(.listenFailed, "libwebsockets would not adopt the listening socket")
        }
    }

    /// The address to bind: the wildcard for "", "*", "0.0.0.0" and "::", else `host` as getaddrinfo reads it
    /// (IPv6 only when the host has a colon, as for lws's own listener).
    private static func resolve(host: String, port: Int)
        throws(WebSocketServerError) -> (address: sockaddr_storage, length: socklen_t) {
        var hints = addrinfo()
        hints.ai_family = host.contains(":") ? AF_INET6 : AF_INET
        hints.ai_socktype = Int32(Glibc.SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        let node: String? = ["", "*", "0.0.0.0", "::"].contains(host) ? nil : host
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(node, String(port), &hints, &list)
        guard status == 0, let first = list, let address = first.pointee.ai_addr else {
            if list != nil { freeaddrinfo(list) }
            throw WebSocketServerError(.listenFailed, "cannot resolve listen address \(host): "
                                       + String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var storage = sockaddr_storage()
        let length = first.pointee.ai_addrlen
        precondition(Int(length) <= MemoryLayout<sockaddr_storage>.size, "getaddrinfo address larger than storage")
        // C boundary: copy the address out of getaddrinfo's list before freeaddrinfo releases it.
        withUnsafeMutableBytes(of: &storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(length)))
        }
        return (storage, length)
    }

    /// The port `descriptor` is bound to, read back with getsockname.
    private static func boundPort(_ descriptor: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        // C boundary: getsockname writes at most `length` (the storage's size) bytes through a sockaddr*.
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard status == 0 else { return nil }
        let networkPort: UInt16 = withUnsafeBytes(of: &storage) { bytes in
            // sin_port and sin6_port sit at the same offset, right after the family.
            bytes.load(fromByteOffset: MemoryLayout<sa_family_t>.size, as: UInt16.self)
        }
        let port = Int(UInt16(bigEndian: networkPort))
        return port > 0 ? port : nil
    }

    private static func failure(_ code: WebSocketServerError.Code, _ what: String) -> WebSocketServerError {
        WebSocketServerError(code, "\(what) failed: \(String(cString: strerror(errno)))")
    }
}
