import BankStore

/// Messages to people (codes, notices, receipts) go through here to the notifier.
extension Hub {
    func deliver(to user: UserRecord, subject: String, body: String, preferSMS: Bool) {
        logger.info("notify", metadata: ["user": "\(user.username)", "subject": "\(subject)", "body": "\(body)"])
    }
}
