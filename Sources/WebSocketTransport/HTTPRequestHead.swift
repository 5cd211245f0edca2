/// The HTTP methods libwebsockets 4.1 parses on a server connection.
public enum HTTPMethod: String, Sendable, Equatable {
    case get = "GET", post = "POST", put = "PUT", patch = "PATCH", delete = "DELETE", options = "OPTIONS",
         head = "HEAD"

    /// Whether libwebsockets reads a body for this method even without `Content-Length` (it then waits for
    /// 100 MB; such a request is taken as bodiless and its connection closed after the answer).
    var expectsBody: Bool { self == .post || self == .put || self == .patch }
}

/// One HTTP request handed to an ``HTTPRoute``: what libwebsockets parsed, copied off the service thread.
public struct HTTPRequest: Sendable {
    /// Identifies the exchange in ``WebSocketServer/send(_:to:)`` and in the route's `closed` callback. Drawn
    /// from the same sequence as WebSocket connection ids, so the two never collide.
    public let id: ConnectionID
    public let method: HTTPMethod
    /// The path without the query string, percent-decoded by libwebsockets (e.g. "/api/v1/transfer").
    public let path: String
    /// Query arguments in order (`?since=5&x=1` gives `[("since", "5"), ("x", "1")]`).
    public let query: [(name: String, value: String)]
    /// Header values by lower-cased name: every header libwebsockets knows, plus the route's custom ones.
    public let headers: [String: String]
    /// The body, at most `messageBytesMax` bytes; empty when `bodyTooLarge`.
    public let body: [UInt8]
    /// True when the body was over `messageBytesMax`: it was read and dropped, and the route should answer 413.
    public let bodyTooLarge: Bool
    /// The peer's numeric address as libwebsockets reports it.
    public let peerAddress: String

    public init(id: ConnectionID, method: HTTPMethod, path: String, query: [(name: String, value: String)] = [],
                headers: [String: String] = [:], body: [UInt8] = [], bodyTooLarge: Bool = false,
                peerAddress: String = "127.0.0.1") {
        self.id = id
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.bodyTooLarge = bodyTooLarge
        self.peerAddress = peerAddress
    }

    /// A header by name, case-insensitively; nil when absent.
    public func header(_ name: String) -> String? {
        headers[name.lowercased()]
    }

    /// The first query argument of that name; nil when absent.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    /// The media type of `Content-Type` without parameters, lower-cased ("application/json"); nil when absent.
    public var mediaType: String? {
        guard let value = header("content-type") else { return nil }
        let type = value.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return String(type.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
            .lowercased()
    }

    /// Splits one `name=value` query fragment as libwebsockets stores it; a fragment without `=` has an empty
    /// value.
    static func queryArgument(_ fragment: String) -> (name: String, value: String) {
        guard let equals = fragment.firstIndex(of: "=") else { return (fragment, "") }
        return (String(fragment[..<equals]), String(fragment[fragment.index(after: equals)...]))
    }
}

/// What the service thread collects for one request before handing it over. Pure; no lws.
struct HTTPBodyCollector: Sendable {
    let bytesMax: Int
    private(set) var bytes: [UInt8] = []
    private(set) var tooLarge = false

    init(bytesMax: Int) {
        precondition(bytesMax > 0, "a body limit must be positive")
        self.bytesMax = bytesMax
    }

    /// Appends one piece; past `bytesMax` everything is dropped and later pieces are ignored (the body is still
    /// read to its end, so the connection can answer 413 and stay usable).
    mutating func append(_ piece: UnsafeRawBufferPointer) {
        guard !tooLarge else { return }
        guard bytes.count + piece.count <= bytesMax else {
            tooLarge = true
            bytes = []
            return
        }
        bytes.append(contentsOf: piece)
        assert(bytes.count <= bytesMax)
    }
}
