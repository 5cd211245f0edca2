import Foundation
import Glibc

/// A minimal HTTP/1.1 GET over a plain socket, for tests that check static files, /healthz and
/// response headers. The blocking socket work runs on a thread of its own, never on the
/// cooperative pool.
public enum HTTPProbe {
    /// Largest response read before giving up.
    static let responseBytesMax = 16 << 20
    public static let receiveTimeoutSecondsDefault = 5

    /// GETs `path`; headers come back with lower-cased names (repeated ones joined by ", "). Gives up when no
    /// byte arrives for `receiveTimeoutSeconds`.
    public static func get(host: String = "127.0.0.1", port: Int, path: String, headers: [String: String] = [:],
                           receiveTimeoutSeconds: Int = receiveTimeoutSecondsDefault) async throws -> (status: Int, headers: [String: String], body: [UInt8]) {
        var lines = ["GET \(path) HTTP/1.1", "Host: \(host):\(port)", "Connection: close"]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { lines.append("\(name): \(value)") }
        let request = Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
        let response = try await runOnOwnThread { () throws(WebSocketClientError) -> [UInt8] in
            try exchange(request, host: host, port: port, receiveTimeoutSeconds: receiveTimeoutSeconds)
        }
        guard let headEnd = WebSocketHandshake.headEnd(in: response) else {
            throw WebSocketClientError.invalidHandshake("incomplete HTTP response")
        }
        let (status, parsed) = try WebSocketHandshake.parseHead(Array(response[..<headEnd]))
        var body = Array(response[headEnd...])
        if let length = parsed["content-length"].flatMap(Int.init), length < body.count { body = Array(body.prefix(length)) }
        return (status, parsed, body)
    }

    /// Sends the request and reads until the server closes (or the Content-Length is complete).
    private static func exchange(_ request: [UInt8], host: String, port: Int,
                                 receiveTimeoutSeconds: Int) throws(WebSocketClientError) -> [UInt8] {
        let address = try ClientSocket.address(host: host, port: port)
        let descriptor = try ClientSocket.startConnect(to: address, sourceAddress: nil, blocking: true)
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let sent = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else { throw .socketFailed(operation: "send", errno: errno) }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while response.count < responseBytesMax && !isComplete(response) {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw .timedOut }
                break
            }
            response.append(contentsOf: chunk[0..<count])
        }
        return response
    }

    private static func isComplete(_ response: [UInt8]) -> Bool {
        guard let headEnd = WebSocketHandshake.headEnd(in: response),
              let (_, headers) = try? WebSocketHandshake.parseHead(Array(response[..<headEnd])),
              let length = headers["content-length"].flatMap(Int.init) else { return false }
        return response.count - headEnd >= length
    }
}
