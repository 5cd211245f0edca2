import Foundation

/// The client side of the RFC 6455 opening handshake, pure: builds the request and checks the reply.
public struct WebSocketHandshake: Sendable {
    static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    /// Largest response head accepted before giving up on the server.
    static let responseHeadBytesMax = 16 * 1024

    public let requestBytes: [UInt8]
    public let key: String
    public let requestedSubprotocol: String?

    public init(host: String, port: Int, path: String, subprotocol: String?, origin: String?,
                extraHeaders: [(name: String, value: String)] = [], key: String? = nil) {
        let chosenKey = key ?? Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        var lines = ["GET \(path) HTTP/1.1", "Host: \(host):\(port)", "Upgrade: websocket",
                     "Connection: Upgrade", "Sec-WebSocket-Key: \(chosenKey)", "Sec-WebSocket-Version: 13",
                     "User-Agent: BankHub-WebSocketClient/1"]
        if let subprotocol { lines.append("Sec-WebSocket-Protocol: \(subprotocol)") }
        if let origin { lines.append("Origin: \(origin)") }
        for header in extraHeaders { lines.append("\(header.name): \(header.value)") }
        self.key = chosenKey
        self.requestedSubprotocol = subprotocol
        self.requestBytes = Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    /// base64(SHA-1(key + GUID)), what the server must echo in Sec-WebSocket-Accept.
    public static func acceptValue(for key: String) -> String {
        Data(SHA1.digest(Array((key + acceptGUID).utf8))).base64EncodedString()
    }

    /// Index just past "\r\n\r\n" if the response head is complete.
    static func headEnd(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count where bytes[index] == 10 && bytes[index - 1] == 13
            && bytes[index - 2] == 10 && bytes[index - 3] == 13 {
            return index + 1
        }
        return nil
    }

    /// Checks a complete response head; returns the subprotocol the server chose, if any.
    public func verify(responseHead: [UInt8]) throws(WebSocketClientError) -> String? {
        let (status, headers) = try Self.parseHead(responseHead)
        guard status == 101 else { throw .handshakeRejected(status: status) }
        guard headers["upgrade"]?.lowercased() == "websocket" else { throw .invalidHandshake("Upgrade header") }
        guard headers["connection"]?.lowercased().contains("upgrade") == true else {
            throw .invalidHandshake("Connection header")
        }
        guard headers["sec-websocket-accept"] == Self.acceptValue(for: key) else {
            throw .invalidHandshake("Sec-WebSocket-Accept does not match the key")
        }
        let chosen = headers["sec-websocket-protocol"]
        if let chosen, chosen != requestedSubprotocol {
            throw .invalidHandshake("server chose subprotocol \(chosen) that was not offered")
        }
        return chosen
    }

    /// Status code and lower-cased header names of an HTTP/1.1 response head.
    static func parseHead(_ head: [UInt8]) throws(WebSocketClientError) -> (Int, [String: String]) {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        guard !lines.isEmpty else { throw .invalidHandshake("empty response") }
        let statusParts = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw .invalidHandshake("bad status line")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = headers[name].map { "\($0), \(value)" } ?? value
        }
        return (status, headers)
    }
}
