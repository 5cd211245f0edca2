import SMTPClient

/// How messages to people leave the hub: the sink for e-mail, the SMTP server when that sink is `smtp`, the
/// HTTP SMS gateway when one is configured (else SMS goes to the log), and the outbox worker's pace and
/// retry schedule.
public struct NotificationConfiguration: Sendable {
    public enum Sink: String, Sendable, CaseIterable {
        /// Every message becomes a log line (channel, recipient, subject, body). The default.
        case log
        /// E-mail goes to an SMTP server; SMS still goes to the log.
        case smtp
    }

    public var sink = Sink.log
    public var smtpHost = "127.0.0.1"
    public var smtpPort = 25
    public var smtpUser: String?
    /// Read by the CLI from the environment variable named by `--smtp-password-env`, never from an argument.
    public var smtpPassword: String?
    public var smtpStartTLS = false
    public var smtpFrom = "bankhub@localhost"
    /// Check the SMTP server's certificate (system CA paths, or `smtpCAFile`). Off only for local test peers.
    public var smtpVerifyCertificate = true
    public var smtpCAFile: String?
    /// The HTTP SMS gateway: each SMS is POSTed there as JSON `{to, body}`. Nil: no gateway, SMS goes to the
    /// log, and codes that would go by SMS go by e-mail when the user has an address.
    public var smsWebhook: HTTPEndpoint?

    /// The wait after the first failed attempt; it doubles after each further failure (1, 2, 4, 8 s).
    public var retryBaseMilliseconds: Int64 = 1_000
    /// The longest wait between attempts.
    public var retryDelayMillisecondsMax: Int64 = 16_000
    /// After this many failed attempts a message is `failed` for good.
    public var attemptsMax = 5
    /// Messages one pass of the worker takes; a full batch starts the next pass at once.
    public var batchMessagesMax = 32
    /// The worker looks for due messages at least this often, even when nothing was queued.
    public var pollIntervalMilliseconds = 1_000
    /// Whether this hub runs the outbox worker (delivery, retries, receipts). Hubs that share a database
    /// (`--bus`) may all run it: on PostgreSQL the worker claims each message and the receipt cursor per row
    /// (docs/scaling.md). Off (`serve --no-outbox-worker`) the hub only queues, for operators who want the
    /// sending on some hubs only.
    public var outboxWorker = true

    public init() {}

    /// Sets the SMS gateway from its URL (`--sms-webhook`); false when it is not an `http://` or `https://`
    /// URL with a host (see `HTTPEndpoint`).
    public mutating func setSMSWebhook(url: String) -> Bool {
        guard let endpoint = HTTPEndpoint(url: url) else { return false }
        smsWebhook = endpoint
        return true
    }

    func validate() {
        precondition(retryBaseMilliseconds > 0 && retryDelayMillisecondsMax >= retryBaseMilliseconds,
                     "retry delays must be positive and the maximum at least the base")
        precondition(attemptsMax >= 1 && batchMessagesMax >= 1 && pollIntervalMilliseconds >= 1,
                     "outbox limits must be positive")
        precondition((1...65_535).contains(smtpPort), "SMTP port \(smtpPort) is out of range")
        precondition(!smtpFrom.isEmpty && !smtpHost.isEmpty, "SMTP host and From address are required")
    }

    /// The wait before the next attempt after `failures` failed ones, or nil when the message has failed for
    /// good: base · 2^(failures − 1), capped at the maximum.
    func retryDelayMilliseconds(afterFailures failures: Int) -> Int64? {
        precondition(failures >= 1, "a retry follows a failure")
        guard failures < attemptsMax else { return nil }
        let doublings = min(failures - 1, 32)
        return min(retryBaseMilliseconds << Int64(doublings), retryDelayMillisecondsMax)
    }

    /// The SMTP client settings for the `smtp` sink.
    var smtp: SMTPConfiguration {
        var configuration = SMTPConfiguration(host: smtpHost, port: smtpPort)
        configuration.startTLS = smtpStartTLS
        configuration.verifyCertificate = smtpVerifyCertificate
        configuration.caFile = smtpCAFile
        if let smtpUser {
            configuration.credentials = .init(username: smtpUser, password: smtpPassword ?? "")
        }
        return configuration
    }
}
