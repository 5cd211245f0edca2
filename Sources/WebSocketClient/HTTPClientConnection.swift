import Foundation
import Glibc
import Synchronization

/// A response read by ``HTTPClientConnection``; header names lower-cased.
public struct HTTPClientResponse: Sendable {
    public let status: Int
    public let headers: [String: String]
    public let body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// One keep-alive HTTP/1.1 connection over a plain blocking socket, for tests: whole requests and responses
/// (`Content-Length` bodies), or a response head followed by a stream read piece by piece (server-sent
/// events). Every blocking call runs on a thread of its own, never on the cooperative pool; each read waits
/// at most `receiveTimeoutSeconds`.
public final class HTTPClientConnection: Sendable {
    /// Largest response or stream buffer read before giving up.
    static let bufferBytesMax = 16 << 20
    let descriptor: Int32
    let receiveTimeoutSeconds: Int
    /// Bytes read past the last thing returned (the start of a stream after its head).
    private let pending = Mutex<[UInt8]>([])
    private let closed = Mutex(false)

    private init(descriptor: Int32, receiveTimeoutSeconds: Int) {
        self.descriptor = descriptor
        self.receiveTimeoutSeconds = receiveTimeoutSeconds
    }

    deinit { close() }

    /// Connects to `host:port`. For tests of a reader that falls behind, `receiveBufferBytes` shrinks the
    /// socket's receive buffer and `segmentBytesMax` the MSS it announces (both set before connecting). A
    /// small MSS keeps the server's kernel send buffer small too: Linux sizes it from the peer's MSS (about
    /// 1.3 MB on loopback otherwise), so a stalled reader shows up after kilobytes instead of megabytes.
    public static func connect(host: String = "127.0.0.1", port: Int, receiveBufferBytes: Int? = nil,
                               segmentBytesMax: Int? = nil,
                               receiveTimeoutSeconds: Int = 10) async throws -> HTTPClientConnection {
        let descriptor = try await runOnOwnThread { () throws(WebSocketClientError) -> Int32 in
            let address = try ClientSocket.address(host: host, port: port)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else { throw .socketFailed(operation: "socket", errno: errno) }
            if var size = receiveBufferBytes.map(Int32.init) {
                setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            }
            if var segment = segmentBytesMax.map(Int32.init) {
                setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_MAXSEG, &segment, socklen_t(MemoryLayout<Int32>.size))
            }
            var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var target = address
            let result = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard result == 0 else {
                let error = errno
                Glibc.close(descriptor)
                throw .socketFailed(operation: "connect", errno: error)
            }
            return descriptor
        }
        return HTTPClientConnection(descriptor: descriptor, receiveTimeoutSeconds: receiveTimeoutSeconds)
    }

    /// Sends one request and reads its whole response (the body by `Content-Length`, or until the server
    /// closes). `Host` and `Content-Length` are added.
    public func request(_ method: String, _ path: String, headers: [(String, String)] = [],
                        body: [UInt8]? = nil) async throws -> HTTPClientResponse {
        try await send(Self.encode(method, path, headers: headers, body: body))
        let (status, responseHeaders) = try await readHead()
        let length = responseHeaders["content-length"].flatMap(Int.init)
        let body = try await read { buffer, ended in
            if let length { return buffer.count >= length ? length : (ended ? buffer.count : nil) }
            return ended ? buffer.count : nil
        }
        return HTTPClientResponse(status: status, headers: responseHeaders, body: body)
    }

    /// Writes raw bytes (a request head, or a partial body).
    public func send(_ bytes: [UInt8]) async throws {
        let descriptor = self.descriptor
        try await runOnOwnThread { () throws(WebSocketClientError) -> Void in
            var offset = 0
            while offset < bytes.count {
                let sent = bytes[offset...].withUnsafeBytes {
                    Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                guard sent > 0 else { throw .socketFailed(operation: "send", errno: errno) }
                offset += sent
            }
        }
    }

    /// Reads up to the end of a response head; returns the status and the lower-cased headers.
    public func readHead() async throws -> (status: Int, headers: [String: String]) {
        let head = try await read { buffer, ended in
            WebSocketHandshake.headEnd(in: buffer) ?? (ended ? buffer.count : nil)
        }
        return try WebSocketHandshake.parseHead(head)
    }

    /// Reads stream bytes until `complete` says how many of the buffered bytes to return (nil: read more).
    /// `complete` also learns whether the server has closed; bytes past the returned count stay buffered.
    public func read(until complete: @escaping @Sendable (_ buffer: [UInt8], _ ended: Bool) -> Int?) async throws -> [UInt8] {
        let descriptor = self.descriptor
        let start = pending.withLock { pending in
            defer { pending = [] }
            return pending
        }
        let (taken, rest) = try await runOnOwnThread { () throws(WebSocketClientError) -> ([UInt8], [UInt8]) in
            var buffer = start
            var ended = false
            var chunk = [UInt8](repeating: 0, count: 16 * 1024)
            while true {
                if let count = complete(buffer, ended) {
                    return (Array(buffer.prefix(count)), Array(buffer.dropFirst(count)))
                }
                guard !ended, buffer.count < HTTPClientConnection.bufferBytesMax else { throw .timedOut }
                let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                if count > 0 {
                    buffer.append(contentsOf: chunk[0..<count])
                } else if count == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
                    ended = true
                } else if errno != EINTR {
                    throw .timedOut
                }
            }
        }
        pending.withLock { $0 = rest + $0 }
        return taken
    }

    /// Reads until the server closes the connection; returns what arrived meanwhile.
    public func readToEnd() async throws -> [UInt8] {
        try await read { buffer, ended in ended ? buffer.count : nil }
    }

    public func close() {
        let wasOpen = closed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        if wasOpen { Glibc.close(descriptor) }
    }

    public static func encode(_ method: String, _ path: String, headers: [(String, String)], body: [UInt8]?) -> [UInt8] {
        var lines = ["\(method) \(path) HTTP/1.1", "Host: 127.0.0.1"]
        for (name, value) in headers { lines.append("\(name): \(value)") }
        if let body, !headers.contains(where: { $0.0.lowercased() == "content-length" }) {
            lines.append("Content-Length: \(body.count)")
        }
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8) + (body ?? [])
    }
}
