/// Status line and headers of a response an application builds. `Content-Length` and `Connection` are the
/// transport's; the server-wide `responseHeaders` (CSP, nosniff, ...) are added to every response.
public struct HTTPResponseHead: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    /// Extra headers, e.g. `("Retry-After", "3")`. Names without ':', values without CR or LF.
    public var headers: [(name: String, value: String)]

    public init(status: Int, contentType: String, headers: [(name: String, value: String)] = []) {
        precondition((100...599).contains(status), "HTTP status \(status) out of range")
        for header in headers {
            precondition(!header.name.isEmpty && !header.name.contains(":") && !header.name.contains(" "),
                         "bad header name \(header.name)")
            precondition(!header.value.contains("\r") && !header.value.contains("\n"), "header value with CR/LF")
        }
        self.status = status
        self.contentType = contentType
        self.headers = headers
    }

    public static func == (left: HTTPResponseHead, right: HTTPResponseHead) -> Bool {
        left.status == right.status && left.contentType == right.contentType
            && left.headers.map(\.name) == right.headers.map(\.name)
            && left.headers.map(\.value) == right.headers.map(\.value)
    }
}

/// A whole response: head and body, sent with a `Content-Length`; the connection stays open for the next
/// request (HTTP/1.1 keep-alive) when the client wants it.
public struct HTTPResponse: Sendable, Equatable {
    public var head: HTTPResponseHead
    public var body: [UInt8]

    public init(status: Int, contentType: String = "application/json",
                headers: [(name: String, value: String)] = [], body: [UInt8]) {
        head = HTTPResponseHead(status: status, contentType: contentType, headers: headers)
        self.body = body
    }

    public init(head: HTTPResponseHead, body: [UInt8]) {
        self.head = head
        self.body = body
    }
}
