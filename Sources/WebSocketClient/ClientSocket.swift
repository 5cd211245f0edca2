import Glibc

/// Small POSIX socket helpers for the client (IPv4 only: the tests and the load generator use it).
enum ClientSocket {
    /// An IPv4 socket address for a literal, "localhost", or a name resolved with getaddrinfo.
    static func address(host: String, port: Int) throws(WebSocketClientError) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let literal = host == "localhost" ? "127.0.0.1" : host
        if inet_pton(AF_INET, literal, &address.sin_addr) == 1 { return address }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &results) == 0, let first = results,
              let resolved = first.pointee.ai_addr else {
            throw .unresolvableHost(host)
        }
        defer { freeaddrinfo(results) }
        resolved.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address.sin_addr = $0.pointee.sin_addr }
        return address
    }

    /// A non-blocking TCP socket, optionally bound to `sourceAddress`, with connect() under way.
    /// `receiveBufferBytes` fixes SO_RCVBUF (no autotuning), e.g. so a test's non-reading client fills up soon.
    static func startConnect(to address: sockaddr_in, sourceAddress: String?, receiveBufferBytes: Int? = nil,
                             blocking: Bool = false) throws(WebSocketClientError) -> Int32 {
        let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            | (blocking ? 0 : Int32(SOCK_NONBLOCK.rawValue))
        let descriptor = socket(AF_INET, flags, 0)
        guard descriptor >= 0 else { throw .socketFailed(operation: "socket", errno: errno) }
        var noDelay: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        if let receiveBufferBytes {
            var size = Int32(clamping: receiveBufferBytes)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        do throws(WebSocketClientError) {
            if let sourceAddress { try bind(descriptor, to: sourceAddress) }
            var target = address
            let result = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if result != 0 && errno != EINPROGRESS { throw .socketFailed(operation: "connect", errno: errno) }
        } catch {
            close(descriptor)
            throw error
        }
        return descriptor
    }

    /// Binds to a local address (port chosen by the kernel), to spread connections over 127.0.0.x.
    private static func bind(_ descriptor: Int32, to sourceAddress: String) throws(WebSocketClientError) {
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        guard inet_pton(AF_INET, sourceAddress, &local.sin_addr) == 1 else {
            throw .unresolvableHost(sourceAddress)
        }
        var noPortReservation: Int32 = 1
        // Lets many sockets share a source address without each reserving an ephemeral port at bind().
        setsockopt(descriptor, Int32(IPPROTO_IP), IP_BIND_ADDRESS_NO_PORT, &noPortReservation,
                   socklen_t(MemoryLayout<Int32>.size))
        let result = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw .socketFailed(operation: "bind \(sourceAddress)", errno: errno) }
    }

    /// The pending error of a non-blocking connect (0 when it succeeded).
    static func pendingError(_ descriptor: Int32) -> Int32 {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length)
        return error
    }
}
