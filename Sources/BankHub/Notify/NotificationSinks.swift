import BankStorage
import BankWire
import Logging
import SMTPClient

/// Where a message goes when the outbox worker delivers it. `deliver` blocks (an SMTP conversation can take
/// seconds) and is only ever called on the worker's own thread, never on Swift's cooperative pool. Throwing
/// means "not delivered": the worker schedules a retry.
protocol NotificationSink: Sendable {
    func deliver(_ message: OutboxRecord) throws
}

/// Records each message as delivered with a log line naming its outbox id, channel, recipient and subject —
/// never its body, which may hold a one-time code, a transfer note or an amount. The default sink, and the SMS
/// sink when no SMS gateway is configured: a person on the hub's machine reads the message itself with
/// `bankhub outbox` (the outbox keeps each message as sent).
struct LogSink: NotificationSink {
    let logger: Logger

    func deliver(_ message: OutboxRecord) {
        var metadata: Logger.Metadata = [
            "outbox": "\(message.id)", "channel": "\(message.channel)", "to": "\(message.recipient)",
            "subject": "\(message.subject)",
        ]
        // A receipt is delivered before its row exists (id 0); its transaction names it.
        if let transaction = message.receiptOf { metadata["receipt_of"] = "\(transaction)" }
        logger.info("notification kept in the outbox (read it with bankhub outbox)", metadata: metadata)
    }
}

/// Sends e-mail through `SMTPClient`, one SMTP conversation per message, from a configurable address.
struct SMTPSink: NotificationSink {
    let client: SMTPClient
    let from: String

    init(configuration: NotificationConfiguration) throws {
        client = try SMTPClient(configuration: configuration.smtp)
        from = configuration.smtpFrom
    }

    func deliver(_ message: OutboxRecord) throws {
        precondition(message.channel == Notifier.Channel.email.rawValue, "the SMTP sink carries e-mail only")
        // One Message-ID per outbox row: a retry after an ambiguous failure (a timeout after DATA) repeats it,
        // so the receiving side can recognise the duplicate. A receipt's first attempt comes before its row, so
        // it is named after its transaction (a re-send after a crash repeats that too).
        let name = message.receiptOf.map { "receipt-\($0)" } ?? "outbox-\(message.id)"
        let mail = SMTPMessage(from: from, to: [message.recipient], subject: message.subject, body: message.body,
                               messageID: "\(name).\(message.createdAt.milliseconds)" + Self.host(of: from))
        try client.sendBlocking(mail)
    }

    /// The domain of the From address, so Message-IDs are ours: "bankhub@localhost" gives "localhost".
    private static func host(of address: String) -> String {
        address.split(separator: "@").last.map { "@" + $0 } ?? "@localhost"
    }
}

/// Posts each SMS as JSON `{"to": "+15550100", "body": "…"}` to an HTTP SMS gateway (`--sms-webhook URL`);
/// a 2xx answer is delivery, anything else a failure the worker retries. A message addressed to no phone
/// number (`user:NAME`, for a user with neither a phone nor an e-mail address) goes to the log instead.
struct SMSWebhookSink: NotificationSink {
    let client: HTTPPostClient
    let fallback: LogSink

    init(endpoint: HTTPEndpoint, logger: Logger) throws {
        client = try HTTPPostClient(endpoint: endpoint)
        fallback = LogSink(logger: logger)
    }

    func deliver(_ message: OutboxRecord) throws {
        precondition(message.channel == Notifier.Channel.sms.rawValue, "the SMS gateway carries SMS only")
        guard message.recipient.hasPrefix("+") else { return fallback.deliver(message) }
        try client.postBlocking(json: Self.json(to: message.recipient, body: message.body))
    }

    /// The request body: `{"to":…,"body":…}`.
    static func json(to recipient: String, body: String) -> String {
        JSONWriter.string(["to": .string(recipient), "body": .string(body)])
    }
}

/// The sink for each channel.
struct NotificationSinks: Sendable {
    let email: any NotificationSink
    let sms: any NotificationSink

    /// The log sink for everything, or SMTP for e-mail and the HTTP gateway for SMS when configured. Fails
    /// when the SMTP sink or the gateway's TLS cannot be set up (an unreadable CA file).
    static func make(_ configuration: NotificationConfiguration, logger: Logger) throws -> NotificationSinks {
        let log = LogSink(logger: logger)
        let sms: any NotificationSink = try configuration.smsWebhook.map { try SMSWebhookSink(endpoint: $0, logger: logger) } ?? log
        switch configuration.sink {
        case .log: return NotificationSinks(email: log, sms: sms)
        case .smtp: return NotificationSinks(email: try SMTPSink(configuration: configuration), sms: sms)
        }
    }

    func sink(for channel: String) -> any NotificationSink {
        channel == Notifier.Channel.sms.rawValue ? sms : email
    }
}
