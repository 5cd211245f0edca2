import BankCore
import BankStorage

/// The audit trail of staff actions.
extension Hub {
    /// Appends a staff action to the audit log; returns once it is committed.
    func audit(_ actor: UserRecord, _ action: String, target: String, detail: String? = nil) async throws {
        let now = Clock.now()
        try await services.writer.write { db in
            try AuditRecords.append(db, actor: actor.id, action: action, target: target, detail: detail, at: now)
        }
    }
}
