/// How a ``NATSConnection`` connects and how much it may hold. Limits are named with their unit last.
///
/// Credentials go in the URLs: `nats://USER:PASSWORD@host:port` or `nats://TOKEN@host:port` (the first URL that
/// has them gives them for every server, servers the cluster announces included). `tls://host:port` asks for
/// TLS (libnats ignores the scheme itself): every URL must then be `tls://`. Instead of credentials in the URLs,
/// ``identity`` may name an NKey seed file or a `.creds` file (decentralized auth). Secrets never leave this type
/// unmasked: messages use ``redacted(_:)`` and ``scrub(_:)``, and the identity files are shown by path only.
public struct NATSConfiguration: Sendable {
    /// Server URLs (`nats://host:port` or `tls://host:port`, with optional credentials); libnats tries them in
    /// order on connect and reconnect.
    public var urls: [String]
    /// PEM file of the certificate authorities that sign the servers' certificates (`tls://` only); nil: the
    /// system's trust store.
    public var caFile: String?
    /// A file proving the client's identity by signing the server's nonce (the secret never crosses the wire);
    /// nil: the URLs' credentials, if any. Never together with credentials in the URLs.
    public var identity: NATSIdentityFile?
    /// Wait before trying the same server again after every server failed, in milliseconds.
    public var reconnectWaitMilliseconds: Int = 250
    /// Upper bound of the random delay added to each reconnect wait, so restarted hubs do not reconnect in step.
    public var reconnectJitterMilliseconds: Int = 100
    /// Bytes of publishes held while disconnected; past it `publish` throws `.pendingBufferFull`.
    public var pendingBytesMax: Int = 8 << 20
    /// Messages a subscription holds for a consumer that is behind; past it the newest are dropped (and the
    /// ``StreamGapTracker`` sees a gap to fill from the database).
    public var subscriptionMessagesQueuedMax: Int = 65_536
    /// Connection events held for a consumer that is behind (only the newest are kept).
    public var eventsQueuedMax: Int = 64
    /// Time allowed to open one TCP connection to a server, in milliseconds.
    public var connectTimeoutMilliseconds: Int = 2_000
    /// Name shown by the server's monitoring, e.g. "bankhub-3".
    public var name: String = "bankhub"
    /// When true the server does not send this connection's own publishes back to its own subscriptions
    /// (NATS no-echo): a hub has already delivered its own events to its own subscribers.
    public var noEcho: Bool = false

    public init(urls: [String]) {
        self.urls = urls
    }

    /// Whether every server is spoken to over TLS (the URLs are `tls://`).
    public var secure: Bool { urls.first?.hasPrefix(Self.tlsScheme) == true }

    /// The name the servers' TLS certificates must carry: the first URL's host. libnats checks it only when
    /// told (`natsOptions_SetExpectedHostname`); one name serves every server, so several servers need a
    /// certificate that names the first one too (a cluster certificate naming them all does).
    public var tlsHostname: String? {
        guard secure, let url = urls.first, let scheme = url.firstRange(of: "://") else { return nil }
        var authority = url[scheme.upperBound...].prefix { $0 != "/" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("[") {
            return authority.firstIndex(of: "]").map { String(authority[authority.index(after: authority.startIndex)..<$0]) }
        }
        return String(authority.prefix { $0 != ":" })
    }

    /// The URLs as they may be shown (logs, errors): each one through ``redacted(_:)``.
    public var displayURLs: String { urls.map(Self.redacted).joined(separator: ",") }

    /// The credentials the URLs carry: `(user, password)` or a token, from the first URL that has any.
    var credentials: Credentials? {
        urls.lazy.compactMap(Self.credentials(in:)).first
    }

    enum Credentials: Equatable {
        case user(String, password: String)
        case token(String)
    }

    /// `url` with its credentials masked: `nats://alice:***@host:4222`, `nats://***@host:4222` (a token).
    public static func redacted(_ url: String) -> String {
        guard let (userInfo, range) = userInfo(in: url) else { return url }
        let masked = userInfo.firstIndex(of: ":").map { String(userInfo[..<$0]) + ":***" } ?? "***"
        var out = url
        out.replaceSubrange(range, with: masked)
        return out
    }

    /// `text` (a library or server message) with every secret of the URLs replaced by `***`.
    public func scrub(_ text: String) -> String {
        var out = text
        for url in urls {
            switch Self.credentials(in: url) {
            case .user(_, let secret)?, .token(let secret)?:
                if !secret.isEmpty { out = out.replacing(secret, with: "***") }
            case nil:
                break
            }
        }
        return out
    }

    static let tlsScheme = "tls://"

    /// The `user:password` or `token` part of `url` (between `://` and the last `@` of the authority) and where
    /// it is; nil when there is none.
    private static func userInfo(in url: String) -> (Substring, Range<String.Index>)? {
        guard let scheme = url.firstRange(of: "://") else { return nil }
        let authority = url[scheme.upperBound...].prefix { $0 != "/" }
        guard let at = authority.lastIndex(of: "@") else { return nil }
        let range = scheme.upperBound..<at
        return (url[range], range)
    }

    private static func credentials(in url: String) -> Credentials? {
        guard let (userInfo, _) = userInfo(in: url), !userInfo.isEmpty else { return nil }
        guard let colon = userInfo.firstIndex(of: ":") else { return .token(String(userInfo)) }
        return .user(String(userInfo[..<colon]), password: String(userInfo[userInfo.index(after: colon)...]))
    }

    /// Throws `.invalidConfiguration` for an empty URL list, mixed `tls://` and plain URLs, a CA file without
    /// TLS, an identity file beside credentials in the URLs, or a limit out of range. (The identity file itself
    /// is checked when it is read: ``NATSIdentityFile/check()``.)
    public func validate() throws(BusError) {
        guard !urls.isEmpty else { throw BusError(.invalidConfiguration, "no NATS server URL given") }
        guard urls.allSatisfy({ $0.hasPrefix(Self.tlsScheme) == secure }) else {
            throw BusError(.invalidConfiguration, "use tls:// for every NATS server or for none (\(displayURLs))")
        }
        guard caFile == nil || secure else {
            throw BusError(.invalidConfiguration, "a CA file is for tls:// servers (\(displayURLs))")
        }
        if let identity, credentials != nil {
            throw BusError(.invalidConfiguration, "use \(identity.kind) or credentials in the URL, not both (\(displayURLs))")
        }
        guard reconnectWaitMilliseconds >= 1, reconnectJitterMilliseconds >= 0, connectTimeoutMilliseconds >= 1
        else { throw BusError(.invalidConfiguration, "reconnect wait and connect timeout must be positive") }
        guard (1...Int(Int32.max)).contains(pendingBytesMax) else {
            throw BusError(.invalidConfiguration, "pendingBytesMax must be 1...\(Int32.max) bytes")
        }
        guard subscriptionMessagesQueuedMax >= 1, eventsQueuedMax >= 1 else {
            throw BusError(.invalidConfiguration, "queue limits must be at least 1")
        }
    }
}
