import BankCore
import BankStorage
import Logging
import Synchronization

/// The hub's monthly statements job: every `statementsCheckIntervalMilliseconds` it makes sure last month's
/// e-mails are queued (`MonthlyStatements.queue`). On the 1st of a month (UTC) that queues them all; on any
/// later look, and after a restart, it finds them queued and queues nothing. Once a month is complete the
/// job remembers it and only reads the clock until the month changes.
final class MonthlyStatementJob: Sendable {
    private let writer: any StorageWriter
    private let notifier: Notifier
    private let configuration: SchedulerConfiguration
    private let logger: Logger
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(writer: any StorageWriter, notifier: Notifier, configuration: SchedulerConfiguration, logger: Logger) {
        self.writer = writer
        self.notifier = notifier
        self.configuration = configuration
        self.logger = logger
    }

    func start() {
        guard configuration.monthlyStatementsEnabled else { return }
        task.withLock { task in
            guard task == nil else { return }
            task = Task { [self] in await run() }
        }
    }

    /// Ends the job; a commit under way finishes first (call before the writer closes).
    func stop() async {
        let running = task.withLock { task -> Task<Void, Never>? in
            defer { task = nil }
            task?.cancel()
            return task
        }
        await running?.value
    }

    private func run() async {
        var completed: CalendarMonth?
        while !Task.isCancelled {
            if let month = CalendarMonth(containing: Clock.now()).previous, month != completed {
                do {
                    let summary = try await MonthlyStatements.queue(month: month, writer: writer,
                                                                    perCommit: configuration.mailingsPerCommitMax)
                    completed = month
                    if summary != MonthlyStatements.Summary() {
                        notifier.queued()
                        logger.info("monthly statements queued", metadata: [
                            "month": "\(month)", "statements": "\(summary.statements)",
                            "admin_reports": "\(summary.adminReports)",
                        ])
                    }
                } catch {
                    logger.error("monthly statements: cannot queue", metadata: ["month": "\(month)", "error": "\(error)"])
                }
            }
            try? await Task.sleep(for: .milliseconds(configuration.statementsCheckIntervalMilliseconds))
        }
    }
}
