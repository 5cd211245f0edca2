import BankCore
import BankStorage
import Logging

/// Messages to people: OTP and reset codes, login notices, transfer receipts.
///
/// `notify` picks the channel and recipient for the user, then queues an outbox row through the writer in a
/// savepoint job, so the row shares the next group commit with whatever else is being written. Once that
/// commit is durable the worker is woken and delivers it. `notify` itself never blocks and never fails the
/// caller's operation: a message that cannot be queued is logged.
final class Notifier: Sendable {
    enum Channel: String, Sendable {
        case sms, email
    }

    /// The longest subject and body queued; longer text is cut (these are short, generated messages).
    static let subjectLengthMax = 200
    static let bodyLengthMax = 4_000

    private let writer: any StorageWriter
    private let worker: OutboxWorker
    private let logger: Logger
    /// Whether SMS really leaves the machine (an HTTP gateway is configured); without one, SMS goes to the log.
    let smsGateway: Bool
    /// Whether `start` starts the worker (`NotificationConfiguration.outboxWorker`).
    let runsWorker: Bool

    /// The worker is created here but runs only between `start` and `stop`.
    init(storage: HubStorage, configuration: NotificationConfiguration, logger: Logger) throws {
        configuration.validate()
        self.writer = storage.writer
        self.logger = logger
        smsGateway = configuration.smsWebhook != nil
        runsWorker = configuration.outboxWorker
        worker = OutboxWorker(storage: storage,
                              sinks: try NotificationSinks.make(configuration, logger: logger),
                              configuration: configuration, logger: logger)
    }

    /// Starts delivering (the worker thread).
    func start() { if runsWorker { worker.start() } }

    /// Finishes the message in delivery and stops the worker; call before the writer closes.
    func stop() { worker.stop() }

    /// A message routed and cut to length, ready to be written to the outbox.
    struct Message: Sendable {
        let channel: Channel
        let recipient: String
        let subject: String
        let body: String
    }

    /// Queues a message to `user`: by SMS when `prefer` is `.sms`, an SMS gateway is configured and the user
    /// has a phone; else by e-mail when they have an address; else by SMS (to the gateway, or the log). A user
    /// with neither still gets the message in the outbox, addressed `user:NAME` on the SMS channel (delivered
    /// to the log), so a code is never silently dropped and `bankhub outbox` shows it.
    func notify(_ user: UserRecord, subject: String, body: String, prefer: Channel) {
        let message = self.message(to: user, subject: subject, body: body, prefer: prefer)
        let at = Clock.now()
        let logger = self.logger
        writer.submit(.savepoint, { db in
            try Self.queue(message, db, at: at)
        }, completion: { [worker] result in
            switch result {
            case .success: worker.wake()
            case .failure(let error):
                logger.error("notification not queued", metadata: ["user": "\(user.username)", "error": "\(error)"])
            }
        })
    }

    /// The message `notify` would queue, for a caller that writes it in a job of its own (a standing order's
    /// failure notice goes in the commit that records the failed period); after that commit it calls `queued()`.
    func message(to user: UserRecord, subject: String, body: String, prefer: Channel) -> Message {
        Self.message(to: user, subject: subject, body: body, prefer: prefer, smsGateway: smsGateway)
    }

    /// As the instance method, given whether an SMS gateway is configured (irrelevant when `prefer` is e-mail).
    static func message(to user: UserRecord, subject: String, body: String, prefer: Channel,
                        smsGateway: Bool) -> Message {
        let (channel, recipient) = route(user, prefer: prefer, smsGateway: smsGateway)
        return Message(channel: channel, recipient: recipient, subject: String(subject.prefix(subjectLengthMax)),
                       body: String(body.prefix(bodyLengthMax)))
    }

    /// Writes `message` to the outbox; runs inside a writer job.
    static func queue(_ message: Message, _ db: any SQLDatabase, at: Timestamp) throws {
        try OutboxRecords.insert(db, channel: message.channel.rawValue, recipient: message.recipient,
                                 subject: message.subject, body: message.body, at: at)
    }

    /// A message written by a caller's own job, or a transaction whose receipt the worker derives, has
    /// committed: the worker makes a pass now.
    func queued() { worker.wake() }

    /// The channel and recipient for `user`; `user:NAME` on SMS when they have neither a phone nor an e-mail.
    /// SMS is chosen first only when it really reaches the phone (`smsGateway`); without a gateway a message
    /// meant for SMS goes by e-mail when the user has an address, since the log reaches nobody.
    static func route(_ user: UserRecord, prefer: Channel, smsGateway: Bool) -> (Channel, String) {
        let phone = user.phone.flatMap { $0.isEmpty ? nil : $0 }
        let email = user.email.flatMap { $0.isEmpty ? nil : $0 }
        if prefer == .sms, smsGateway, let phone { return (.sms, phone) }
        if let email { return (.email, email) }
        if let phone { return (.sms, phone) }
        return (.sms, "user:\(user.username)")
    }
}
