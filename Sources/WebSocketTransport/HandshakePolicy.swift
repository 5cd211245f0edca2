/// Decides whether a WebSocket upgrade request may proceed. Pure: no lws, no sockets.
///
/// Rule, in order (any refusal is HTTP 403):
/// 1. the path must equal `webSocketPath`;
/// 2. the `Host` header must name a loopback address (127.0.0.0/8, ::1, `localhost`), the bound host, or a
///    name in `allowedHosts` — so a page on a foreign name that resolves to this server (DNS rebinding)
///    cannot open a socket even though its `Origin` equals `scheme://Host`;
/// 3. a request without `Origin` passes (non-browser clients); an `Origin` equal to the request's own origin
///    (`scheme://Host`) passes; an `Origin` listed in `allowedOrigins` passes; anything else is refused.
struct HandshakePolicy: Sendable {
    enum Verdict: Equatable, Sendable {
        case accept
        case refuseWrongPath
        case refuseForeignHost
        case refuseForeignOrigin
    }

    let webSocketPath: String
    let allowedOrigins: Set<String>
    /// Lower-case host names (no port) accepted besides loopback: the bound host and `allowedHosts`.
    let allowedHostNames: Set<String>
    let scheme: String

    init(webSocketPath: String, allowedOrigins: [String], allowedHosts: [String], boundHost: String,
         usesTLS: Bool) {
        self.webSocketPath = webSocketPath
        self.allowedOrigins = Set(allowedOrigins.map(HandshakePolicy.normalized))
        var names = Set(allowedHosts.compactMap { HostName.parse($0)?.name ?? HostName.parse("[\($0)]")?.name })
        if !HostName.wildcards.contains(boundHost), let bound = HostName.parse(boundHost)
            ?? HostName.parse("[\(boundHost)]") {
            names.insert(bound.name)
        }
        self.allowedHostNames = names
        self.scheme = usesTLS ? "https" : "http"
    }

    func verdict(path: String, origin: String?, host: String?) -> Verdict {
        guard path == webSocketPath else { return .refuseWrongPath }
        guard let host, let hostName = HostName.parse(host), isAllowed(hostName) else { return .refuseForeignHost }
        guard let origin, !origin.isEmpty else { return .accept }
        let candidate = HandshakePolicy.normalized(origin)
        if candidate == HandshakePolicy.normalized("\(scheme)://\(host)") { return .accept }
        return allowedOrigins.contains(candidate) ? .accept : .refuseForeignOrigin
    }

    private func isAllowed(_ host: HostName) -> Bool {
        host.isLoopback || allowedHostNames.contains(host.name)
    }

    /// Origins compare case-insensitively and without a trailing slash.
    static func normalized(_ origin: String) -> String {
        var text = origin.lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}

/// The host part of a `Host` header (`name`, `name:port`, `[v6]`, `[v6]:port`), lower-cased, without the
/// port or a trailing dot. Anything else (user info, paths, spaces, a bad port) does not parse.
struct HostName: Equatable, Sendable {
    let name: String

    /// Listen addresses that name no host in particular.
    static let wildcards: Set<String> = ["", "0.0.0.0", "::", "*"]

    static func parse(_ header: String) -> HostName? {
        let text = header.lowercased()
        guard !text.isEmpty, text.utf8.count <= 255 else { return nil }
        var name: Substring
        var port: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            name = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                port = rest.dropFirst()
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return nil }
            name = parts[0]
            port = parts.count == 2 ? parts[1] : nil
            if name.hasSuffix(".") { name = name.dropLast() }
            let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-.")
            guard !name.isEmpty, name.allSatisfy({ allowed.contains($0) }) else { return nil }
        }
        if let port {
            guard (1...5).contains(port.count), port.allSatisfy(\.isASCII), port.allSatisfy(\.isNumber),
                  let value = Int(port), value <= 65_535 else { return nil }
        }
        return HostName(name: String(name))
    }

    /// 127.0.0.0/8, ::1 (also as ::ffff:127.x.x.x) and localhost (with its subdomains, RFC 6761).
    var isLoopback: Bool {
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        if name == "::1" || name == "0:0:0:0:0:0:0:1" { return true }
        let v4 = name.hasPrefix("::ffff:") ? String(name.dropFirst(7)) : name
        let octets = v4.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) }),
              octets.allSatisfy({ Int($0)! <= 255 }) else { return false }
        return octets[0] == "127"
    }
}
