import Glibc

/// A point on the monotonic clock by which an operation must finish.
struct Deadline {
    let nanoseconds: UInt64

    static func after(_ duration: Duration) -> Deadline {
        let (seconds, attoseconds) = duration.components
        precondition(seconds >= 0, "timeouts are not negative")
        return Deadline(nanoseconds: now() + UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000))
    }

    /// Milliseconds left, rounded up so a poll never returns a hair early; 0 once passed.
    var remainingMilliseconds: Int32 {
        let current = Self.now()
        guard nanoseconds > current else { return 0 }
        return Int32(clamping: (nanoseconds - current + 999_999) / 1_000_000)
    }

    private static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

/// A connected TCP socket in non-blocking mode. Every wait is a `poll` bounded by a deadline, so no call can
/// hang: the caller's thread blocks at most until the deadline, then gets `SMTPError.timedOut`.
///
/// Not thread-safe and not Sendable: one SMTP conversation owns it on one thread from connect to close.
final class TCPSocket {
    let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Resolves `host` and connects to the first address that accepts, all within `timeout`.
    static func connect(host: String, port: Int, timeout: Duration) throws(SMTPError) -> TCPSocket {
        precondition((1...65_535).contains(port), "port \(port) is out of range")
        let deadline = Deadline.after(timeout)
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        // getaddrinfo has no timeout of its own; for literals and /etc/hosts names it does not touch the network.
        let status = getaddrinfo(host, String(port), &hints, &results)
        guard status == 0, let first = results else {
            throw SMTPError(.connectionFailed, "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(results) }
        var lastError = SMTPError(.connectionFailed, "no address for \(host)")
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            do {
                return try connect(info.pointee, deadline: deadline)
            } catch {
                lastError = error
                if error.code == .timedOut { throw error }
            }
            candidate = info.pointee.ai_next
        }
        throw lastError
    }

    private static func connect(_ info: addrinfo, deadline: Deadline) throws(SMTPError) -> TCPSocket {
        let flags = info.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let descriptor = socket(info.ai_family, flags, info.ai_protocol)
        guard descriptor >= 0 else { throw .system(.connectionFailed, "socket", errno: errno) }
        let connection = TCPSocket(descriptor: descriptor)
        var noDelay: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        if Glibc.connect(descriptor, info.ai_addr, info.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { throw .system(.connectionFailed, "connect", errno: errno) }
            try connection.wait(for: POLLOUT, until: deadline, doing: "connect")
            var pending: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &pending, &length)
            guard pending == 0 else { throw .system(.connectionFailed, "connect", errno: pending) }
        }
        return connection
    }

    /// Waits until the socket is ready for `events` (POLLIN or POLLOUT) or the deadline passes.
    func wait(for events: Int32, until deadline: Deadline, doing operation: String) throws(SMTPError) {
        var descriptorSet = pollfd(fd: descriptor, events: Int16(events), revents: 0)
        while true {
            let ready = poll(&descriptorSet, 1, deadline.remainingMilliseconds)
            if ready > 0 { return }
            if ready == 0 { throw SMTPError(.timedOut, "\(operation) timed out") }
            guard errno == EINTR else { throw .system(.connectionClosed, "poll", errno: errno) }
        }
    }

    /// Reads what is available (at least one byte) into `buffer`; returns 0 when the peer closed.
    func read(into buffer: UnsafeMutableRawBufferPointer, until deadline: Deadline) throws(SMTPError) -> Int {
        while true {
            let count = recv(descriptor, buffer.baseAddress, buffer.count, 0)
            if count >= 0 { return count }
            switch errno {
            case EAGAIN, EWOULDBLOCK: try wait(for: POLLIN, until: deadline, doing: "reading the reply")
            case EINTR: continue
            default: throw .system(.connectionClosed, "recv", errno: errno)
            }
        }
    }

    /// Writes all of `bytes`, waiting for buffer space as needed.
    func write(_ bytes: UnsafeRawBufferPointer, until deadline: Deadline) throws(SMTPError) {
        var offset = 0
        while offset < bytes.count {
            let count = send(descriptor, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if count > 0 {
                offset += count
                continue
            }
            switch errno {
            case EAGAIN, EWOULDBLOCK: try wait(for: POLLOUT, until: deadline, doing: "sending")
            case EINTR: continue
            default: throw .system(.connectionClosed, "send", errno: errno)
            }
        }
    }
}
