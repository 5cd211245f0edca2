import BankStorage

/// The services behind the hub actor, built once by `HubServer` and shared read-only.
struct HubServices: Sendable {
    let writer: any StorageWriter
    let readers: any StorageReaders
    let sequencer: EventSequencer
    let fanout: any EventFanout
    let ledger: any LedgerAuthority
    let auth: AuthService
    let totp: SecondFactor
    let codes: OneTimeCodes
    let security: SecurityGuard
    let threats: ThreatReporter
    let notifier: Notifier
    /// Standing orders: creates, cancels and pays them.
    let orders: StandingOrderScheduler
    /// PostgreSQL: claims of the work several hubs on the database share (here: a request's resolution, claimed
    /// before its effects run). Nil on SQLite: the one hub's gate suffices.
    let claims: (any WorkClaims)?
}
