import Dispatch

/// Where and how to deliver mail.
public struct SMTPConfiguration: Sendable {
    public struct Credentials: Sendable {
        public var username: String
        public var password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    public var host: String
    public var port: Int
    /// Upgrade with STARTTLS before AUTH and MAIL; fails with `.startTLSUnavailable` if the server lacks it.
    public var startTLS = false
    /// Verify the server's certificate chain and that it names `host`. Off only for local test peers.
    public var verifyCertificate = true
    /// A PEM file of trusted CA certificates; nil means the system's CA paths.
    public var caFile: String?
    /// Sent with AUTH PLAIN (preferred) or AUTH LOGIN. Only over TLS, or to a loopback host.
    public var credentials: Credentials?
    /// The name this client gives in EHLO.
    public var clientName = "localhost"
    /// The longest wait for the TCP connection to open.
    public var connectTimeout: Duration = .seconds(5)
    /// The longest wait for each reply (and for each write to finish).
    public var replyTimeout: Duration = .seconds(30)

    public init(host: String, port: Int = 25) {
        self.host = host
        self.port = port
    }
}

/// Sends plain-text mail over SMTP, one connection per message.
///
/// The work is blocking socket and TLS I/O bounded by timeouts (connect 5 s, each reply 30 s by default).
/// `sendBlocking` runs it on the caller's thread and is meant for a thread of the caller's own (the outbox
/// worker); `send` runs it on a dedicated dispatch queue, so it never holds a thread of Swift's small
/// cooperative pool while waiting for a server.
public final class SMTPClient: Sendable {
    public let configuration: SMTPConfiguration
    private let tlsContext: TLSContext?

    /// Threads for `send`: outside the cooperative pool, because a slow server blocks one for up to a timeout.
    private static let blockingQueue = DispatchQueue(label: "bankhub.smtp", attributes: .concurrent)

    /// Fails only when STARTTLS is on and the TLS context cannot be set up (e.g. an unreadable CA file).
    public init(configuration: SMTPConfiguration) throws(SMTPError) {
        precondition((1...65_535).contains(configuration.port), "SMTP port \(configuration.port) is out of range")
        precondition(configuration.connectTimeout > .zero && configuration.replyTimeout > .zero,
                     "SMTP timeouts must be positive")
        precondition(!configuration.host.isEmpty, "an SMTP host is required")
        self.configuration = configuration
        tlsContext = configuration.startTLS
            ? try TLSContext(verifyCertificate: configuration.verifyCertificate, caFile: configuration.caFile)
            : nil
    }

    /// Delivers `message` on the calling thread; returns once the server accepted it (250 after DATA).
    public func sendBlocking(_ message: SMTPMessage) throws(SMTPError) {
        try SMTPSession(configuration: configuration, tlsContext: tlsContext).deliver(message)
    }

    /// Delivers `message` without blocking the caller's thread; returns once the server accepted it.
    public func send(_ message: SMTPMessage) async throws(SMTPError) {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, SMTPError>, Never>) in
            Self.blockingQueue.async { [self] in
                continuation.resume(returning: Result { () throws(SMTPError) in try sendBlocking(message) })
            }
        }
        try result.get()
    }
}
