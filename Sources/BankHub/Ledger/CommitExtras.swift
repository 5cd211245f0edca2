import BankStorage

/// Events and rows a caller adds to the commit of the transaction it submits (`LedgerService.submit`), so
/// that they are durable together or not at all: a standing order's `order` event and its progress.
///
/// Both closures run for a transaction the ledger has applied: `events` when its events are sequenced, `write`
/// inside its `.ledger` writer job. `write` must not fail for business reasons (a failure stops the process,
/// as for every ledger job): check everything before submitting.
struct CommitExtras: Sendable {
    let events: @Sendable (MoneyOutcome) -> [EventDraft]
    let write: @Sendable (any SQLDatabase, MoneyOutcome) throws -> Void
}
