import BankStore
import Logging
import SMTPClient

/// Where a message goes when the outbox worker delivers it. `deliver` blocks (an SMTP conversation can take
/// seconds) and is only ever called on the worker's own thread, never on Swift's cooperative pool. Throwing
/// means "not delivered": the worker schedules a retry.
protocol NotificationSink: Sendable {
    func deliver(_ message: OutboxRecord) throws
}

/// Writes each message as a log line with its channel, recipient, subject and body, with every six-digit number
/// of the body masked: codes (step-up, reset) never reach the log, where they would outlive their message and
/// travel to log collectors. The default sink, and the only one for SMS in v1 (there is no SMS gateway): a person
/// on the machine reads codes with `bankhub outbox`, which shows each message as sent.
struct LogSink: NotificationSink {
    let logger: Logger

    func deliver(_ message: OutboxRecord) {
        logger.notice("notification", metadata: [
            "outbox": "\(message.id)", "channel": "\(message.channel)", "to": "\(message.recipient)",
            "subject": "\(message.subject)", "body": "\(Self.maskingCodes(message.body))",
        ])
    }

    /// `text` with each run of exactly six ASCII digits (the length of every code the hub sends) replaced by
    /// `******`. Longer and shorter numbers (amounts, ids, times) stay; a six-digit amount is masked too, which
    /// is harmless.
    static func maskingCodes(_ text: String) -> String {
        var output = ""
        var digits = ""
        func flush() {
            output += digits.count == 6 ? "******" : digits
            digits = ""
        }
        for character in text {
            if character.isASCII, character.isNumber {
                digits.append(character)
            } else {
                flush()
                output.append(character)
            }
        }
        flush()
        return output
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
        // so the receiving side can recognise the duplicate.
        let mail = SMTPMessage(from: from, to: [message.recipient], subject: message.subject, body: message.body,
                               messageID: "outbox-\(message.id).\(message.createdAt.milliseconds)" + Self.host(of: from))
        try client.sendBlocking(mail)
    }

    /// The domain of the From address, so Message-IDs are ours: "bankhub@localhost" gives "localhost".
    private static func host(of address: String) -> String {
        address.split(separator: "@").last.map { "@" + $0 } ?? "@localhost"
    }
}

/// The sink for each channel.
struct NotificationSinks: Sendable {
    let email: any NotificationSink
    let sms: any NotificationSink

    /// The log sink for everything, or SMTP for e-mail when configured. Fails when the SMTP sink cannot be
    /// set up (STARTTLS with an unreadable CA file).
    static func make(_ configuration: NotificationConfiguration, logger: Logger) throws -> NotificationSinks {
        let log = LogSink(logger: logger)
        switch configuration.sink {
        case .log: return NotificationSinks(email: log, sms: log)
        case .smtp: return NotificationSinks(email: try SMTPSink(configuration: configuration), sms: log)
        }
    }

    func sink(for channel: String) -> any NotificationSink {
        channel == Notifier.Channel.sms.rawValue ? sms : email
    }
}
