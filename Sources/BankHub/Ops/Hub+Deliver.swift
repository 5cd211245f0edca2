import BankStore

/// Messages to people (codes, notices, receipts) go through here to the notifier.
extension Hub {
    func deliver(to user: UserRecord, subject: String, body: String, preferSMS: Bool) {
        notifier.notify(user, subject: subject, body: body, prefer: preferSMS ? .sms : .email)
    }
}
