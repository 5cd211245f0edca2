/// Decides whether a WebSocket upgrade request may proceed. Pure: no lws, no sockets.
///
/// Rule: the path must equal `webSocketPath`; a request without `Origin` passes (non-browser
/// clients); an `Origin` equal to the request's own origin (`scheme://Host`) passes; an `Origin`
/// listed in `allowedOrigins` passes; anything else is refused with HTTP 403.
struct HandshakePolicy: Sendable {
    enum Verdict: Equatable, Sendable {
        case accept
        case refuseWrongPath
        case refuseForeignOrigin
    }

    let webSocketPath: String
    let allowedOrigins: Set<String>
    let scheme: String

    init(webSocketPath: String, allowedOrigins: [String], usesTLS: Bool) {
        self.webSocketPath = webSocketPath
        self.allowedOrigins = Set(allowedOrigins.map(HandshakePolicy.normalized))
        self.scheme = usesTLS ? "https" : "http"
    }

    func verdict(path: String, origin: String?, host: String?) -> Verdict {
        guard path == webSocketPath else { return .refuseWrongPath }
        guard let origin, !origin.isEmpty else { return .accept }
        let candidate = HandshakePolicy.normalized(origin)
        if let host, !host.isEmpty, candidate == HandshakePolicy.normalized("\(scheme)://\(host)") {
            return .accept
        }
        return allowedOrigins.contains(candidate) ? .accept : .refuseForeignOrigin
    }

    /// Origins compare case-insensitively and without a trailing slash.
    static func normalized(_ origin: String) -> String {
        var text = origin.lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}
