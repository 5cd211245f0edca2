/// Where an HTTP POST goes: `http://host[:port]/path` or `https://…`, parsed from a URL once at start-up.
public struct HTTPEndpoint: Sendable, Equatable, CustomStringConvertible {
    public let secure: Bool
    public let host: String
    public let port: Int
    /// The request target: the path and query, `/` when the URL had none.
    public let target: String

    /// The longest URL accepted.
    public static let urlBytesMax = 2_048

    /// Parses `http://` and `https://` URLs with a host, an optional port and an optional path. No user info,
    /// no fragment, no spaces or control characters; IPv6 literals go in brackets. Nil for anything else.
    public init?(url: String) {
        guard url.utf8.count <= Self.urlBytesMax,
              url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }), !url.contains("#") else { return nil }
        let secure: Bool
        let rest: Substring
        if url.lowercased().hasPrefix("https://") { secure = true; rest = url.dropFirst(8) }
        else if url.lowercased().hasPrefix("http://") { secure = false; rest = url.dropFirst(7) }
        else { return nil }
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        var target = String(rest.dropFirst(authority.count))
        if target.isEmpty { target = "/" } else if target.hasPrefix("?") { target = "/" + target }
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else {
            let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return nil }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        let port: Int
        if let portText {
            guard let number = Int(portText), (1...65_535).contains(number) else { return nil }
            port = number
        } else {
            port = secure ? 443 : 80
        }
        guard !host.isEmpty else { return nil }
        self.secure = secure
        self.host = String(host)
        self.port = port
        self.target = target
    }

    /// The `Host` header: the host, and the port when it is not the scheme's default.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? name : "\(name):\(port)"
    }

    /// The URL for logs and errors: without its query, which may hold a gateway's API key.
    public var description: String {
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return "\(secure ? "https" : "http")://\(hostHeader)\(path)\(target.contains("?") ? "?…" : "")"
    }
}

/// Why a POST failed: the socket layer's codes (`connection_failed`, `timed_out`, `tls_failed`, …), or
/// `rejected` with the HTTP status the server answered, or `malformed_reply` for an answer that is not HTTP.
public struct HTTPPostError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: SMTPError.Code
    /// The server's status code, when it answered with one other than 2xx.
    public let status: Int?
    public let detail: String

    init(_ error: SMTPError) {
        code = error.code
        status = error.replyCode
        detail = error.detail + (error.replyText.map { $0.isEmpty ? "" : ": \($0)" } ?? "")
    }

    public var description: String { "HTTP \(code): \(detail)" + (status.map { " (status \($0))" } ?? "") }
}

/// Posts a JSON body to one HTTP/1.1 endpoint and reads the status line: a 2xx answer is success, anything
/// else an `HTTPPostError` (with the status when the server answered).
///
/// One connection per request (`Connection: close`), over the same non-blocking POSIX socket and OpenSSL
/// layer as the SMTP client, every wait bounded by a deadline. Blocking: call it from a thread of your own
/// (the outbox worker), never from Swift's cooperative pool.
public final class HTTPPostClient: Sendable {
    public let endpoint: HTTPEndpoint
    private let tlsContext: TLSContext?
    private let connectTimeout: Duration
    private let responseTimeout: Duration

    /// The longest status line and headers read back; the body of the answer is not read.
    static let responseHeadBytesMax = 8_192

    public init(endpoint: HTTPEndpoint, verifyCertificate: Bool = true, caFile: String? = nil,
                connectTimeout: Duration = .seconds(5), responseTimeout: Duration = .seconds(10)) throws(SMTPError) {
        precondition(connectTimeout > .zero && responseTimeout > .zero, "HTTP timeouts must be positive")
        self.endpoint = endpoint
        self.connectTimeout = connectTimeout
        self.responseTimeout = responseTimeout
        tlsContext = endpoint.secure ? try TLSContext(verifyCertificate: verifyCertificate, caFile: caFile) : nil
    }

    /// Sends `body` as `application/json` and returns the status code of a 2xx answer.
    @discardableResult
    public func postBlocking(json body: String) throws(HTTPPostError) -> Int {
        do {
            return try post(body)
        } catch {
            throw HTTPPostError(error)
        }
    }

    private func post(_ body: String) throws(SMTPError) -> Int {
        let socket = try TCPSocket.connect(host: endpoint.host, port: endpoint.port, timeout: connectTimeout)
        let deadline = Deadline.after(responseTimeout)
        let tls = try tlsContext.map { context throws(SMTPError) in
            try TLSChannel(context: context, socket: socket, serverName: endpoint.host, deadline: deadline)
        }
        defer { tls?.close() }
        let request = Array(Self.requestHead(endpoint, bodyBytes: body.utf8.count).utf8) + Array(body.utf8)
        let written: Result<Void, SMTPError> = request.withUnsafeBytes { raw in
            Result { () throws(SMTPError) in
                if let tls { try tls.write(raw, until: deadline) } else { try socket.write(raw, until: deadline) }
            }
        }
        try written.get()
        var head: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1_024)
        while Self.statusLineEnd(head) == nil {
            guard head.count < Self.responseHeadBytesMax else {
                throw SMTPError(.malformedReply, "the HTTP answer has no status line in its first \(Self.responseHeadBytesMax) bytes")
            }
            let read: Result<Int, SMTPError> = chunk.withUnsafeMutableBytes { raw in
                Result { () throws(SMTPError) in
                    if let tls { try tls.read(into: raw, until: deadline) } else { try socket.read(into: raw, until: deadline) }
                }
            }
            let count = try read.get()
            guard count > 0 else { throw SMTPError(.connectionClosed, "the HTTP server closed before answering") }
            head.append(contentsOf: chunk[..<count])
        }
        let status = try Self.status(of: head)
        guard (200..<300).contains(status.code) else {
            throw SMTPError(.rejected, "POST \(endpoint) refused", replyCode: status.code, replyText: status.reason)
        }
        return status.code
    }

    /// The request line and headers, ending with the blank line.
    static func requestHead(_ endpoint: HTTPEndpoint, bodyBytes: Int) -> String {
        "POST \(endpoint.target) HTTP/1.1\r\nHost: \(endpoint.hostHeader)\r\nUser-Agent: BankHub\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(bodyBytes)\r\nConnection: close\r\n\r\n"
    }

    /// Where the status line ends (the index of its LF), or nil while it is incomplete.
    static func statusLineEnd(_ bytes: [UInt8]) -> Int? { bytes.firstIndex(of: 10) }

    /// The code and reason of `HTTP/1.x NNN Reason`.
    static func status(of head: [UInt8]) throws(SMTPError) -> (code: Int, reason: String) {
        guard let end = statusLineEnd(head) else { throw SMTPError(.malformedReply, "no HTTP status line") }
        var line = head[..<end]
        if line.last == 13 { line = line.dropLast() }
        let text = String(decoding: line, as: UTF8.self)
        let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let code = Int(parts[1]),
              (100...599).contains(code) else {
            throw SMTPError(.malformedReply, "not an HTTP status line: \(String(text.prefix(80)).debugDescription)")
        }
        return (code, parts.count == 3 ? String(parts[2]) : "")
    }
}
