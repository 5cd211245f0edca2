import BankCore
import BankStore
import BankWire
import Logging
import WebSocketTransport

/// The hub: who is connected, as whom, and what each request does. One actor, so connection state needs no
/// locks; slow work (database reads, password hashing, commits) runs elsewhere and answers through a
/// `Responder`. Handlers live in `Hub+*.swift` by area.
actor Hub {
    struct Connection {
        let info: ConnectionInfo
        var session: Session?
    }

    var connections: [ConnectionID: Connection] = [:]
    var accepting = true
    let sink: any FrameSink
    let services: HubServices
    let configuration: HubConfiguration
    let inFlight = InFlightCounter()
    /// Orders changes to the service-request queue (see `ServiceRequestGate`).
    let requestGate = ServiceRequestGate()
    let statistics: HubStatistics
    let logger: Logger

    nonisolated var ledger: LedgerService { services.ledger }
    nonisolated var auth: AuthService { services.auth }
    nonisolated var notifier: Notifier { services.notifier }
    nonisolated var totp: SecondFactor { services.totp }
    nonisolated var readers: DatabaseReaders { services.readers }
    nonisolated var fanout: any EventFanout { services.fanout }
    nonisolated var security: SecurityGuard { services.security }
    nonisolated var threats: ThreatReporter { services.threats }

    init(sink: any FrameSink, services: HubServices, configuration: HubConfiguration, statistics: HubStatistics,
         logger: Logger) {
        self.sink = sink
        self.services = services
        self.configuration = configuration
        self.statistics = statistics
        self.logger = logger
    }

    func opened(_ id: ConnectionID, _ info: ConnectionInfo) {
        connections[id] = Connection(info: info, session: nil)
        statistics.connections.add(1, ordering: .relaxed)
    }

    func closed(_ id: ConnectionID) {
        guard connections.removeValue(forKey: id) != nil else { return }
        statistics.connections.subtract(1, ordering: .relaxed)
        fanout.drop(id)
        security.forget(connection: id)
    }

    /// New requests are answered `unavailable` from now on (shutdown).
    func stopAccepting() { accepting = false }

    func handle(_ id: ConnectionID, _ request: Request) async {
        guard connections[id] != nil else { return }
        statistics.requests.add(1, ordering: .relaxed)
        let responder = Responder(connection: id, requestID: request.id, sink: sink, inFlight: inFlight)
        guard accepting else {
            sink.send(Reply.failure(id: request.id, error: BankError(.unavailable, "the hub is shutting down")), to: id)
            return
        }
        if let refusal = rateLimit(request.op, from: id) {
            sink.send(Reply.failure(id: request.id, error: refusal), to: id)
            return
        }
        guard inFlight.begin(id, limit: configuration.requestsInFlightMax) else {
            sink.send(Reply.failure(id: request.id, error: BankError(
                .rateLimited, "more than \(configuration.requestsInFlightMax) requests in flight", retryAfterSeconds: 1)),
                      to: id)
            return
        }
        // The reads of sign-in ops run on their own reader, so heavy reads of other clients cannot stall them.
        await DatabaseReaders.$lane.withValue(Self.signInReadOps.contains(request.op) ? .signIn : .general) {
            do throws(BankError) {
                try await dispatch(request, from: id, responder: responder)
            } catch {
                responder.fail(error)
            }
        }
    }

    /// Ops whose reads (users, sessions, the login history) take the readers' sign-in lane.
    static let signInReadOps: Set<String> = ["login", "auth"]

    private func dispatch(_ request: Request, from id: ConnectionID, responder: Responder) async throws(BankError) {
        let args = request.args
        let rule = try Permissions.check(op: request.op, role: try currentRole(of: id))
        if rule.needsStepUp { try await checkStepUp(args, session: try session(of: id)) }
        switch request.op {
        case "signup": try signUp(args, responder)
        case "login": try logIn(args, from: id, responder)
        case "auth": try authenticate(args, from: id, responder)
        case "logout": try logOut(from: id, responder)
        case "open_account": try openAccount(args, from: id, responder)
        case "accounts": try listAccounts(from: id, responder)
        case "deposit", "withdraw", "transfer": try await moveMoney(request.op, args, from: id, responder)
        case "history": try await history(args, from: id, responder)
        case "balance_at": try await balanceAt(args, from: id, responder)
        case "subscribe": try await subscribe(args, from: id, responder)
        case "unsubscribe": try unsubscribe(args, from: id, responder)
        case "confirm_otp": try await confirmCode(args, from: id, responder)
        case "forgot_password": try forgotPassword(args, responder)
        case "reset_password": try resetPassword(args, responder)
        case "change_password": try changePassword(args, from: id, responder)
        case "totp_enroll": try totpEnroll(from: id, responder)
        case "totp_confirm": try totpConfirm(args, from: id, responder)
        case "set_role": try setRole(args, from: id, responder)
        case "lock_user": try lockUser(args, from: id, responder)
        case "unlock_user": try unlockUser(args, from: id, responder)
        case "lock_account": try setAccountLock(true, args, from: id, responder)
        case "unlock_account": try setAccountLock(false, args, from: id, responder)
        case "threats": try listThreats(args, responder)
        case "ack_threat": try ackThreat(args, from: id, responder)
        case "login_history": try loginHistory(args, from: id, responder)
        case "login_stats": try loginStats(args, responder)
        case "request_create": try await createRequest(args, from: id, responder)
        case "requests": try listRequests(args, from: id, responder)
        case "request_cancel": try cancelRequest(args, from: id, responder)
        case "request_approve": try approveRequest(args, from: id, responder)
        case "request_reject": try rejectRequest(args, from: id, responder)
        case "customers": try searchCustomers(args, responder)
        case "transactions": try listTransactions(args, responder)
        case "users": try listUsers(args, responder)
        case "audit": try listAudit(args, responder)
        default:
            // Permissions.check refuses ops missing from the table, so this is a table entry without a handler.
            assertionFailure("op \(request.op) is in the permission table but has no handler")
            throw BankError(.internalError, "op \(request.op) has no handler")
        }
    }

    /// The token buckets' answer for this request: nil to go on, else `rate_limited` with `retry_after`.
    /// Each refused source raises at most one `rate_limited` threat a minute.
    private func rateLimit(_ op: String, from id: ConnectionID) -> BankError? {
        guard let connection = connections[id] else { return nil }
        let user = connection.session?.user
        let address = connection.info.peerAddress
        let now = Clock.nowMilliseconds()
        guard let (wait, bucket) = security.admit(op: op, connection: id, user: user?.id, address: address, now: now) else {
            return nil
        }
        if security.mayRaise("rate:\(bucket):\(user?.username ?? address)", now: now) {
            threats.report(.rateLimited, user: user?.id, username: user?.username, ip: address,
                           detail: "\(bucket) rate limit hit on \(op)")
        }
        return BankError(.rateLimited, "too many requests (\(bucket) limit); retry in \(wait) s", retryAfterSeconds: wait)
    }

    /// The role of the connection's user, nil when anonymous; an expired session counts as anonymous.
    private func currentRole(of id: ConnectionID) throws(BankError) -> Role? {
        guard connections[id]?.session != nil else { return nil }
        return try session(of: id).user.role
    }

    /// The connection's valid session, or `unauthorized`.
    func session(of id: ConnectionID) throws(BankError) -> Session {
        guard let session = connections[id]?.session else {
            throw BankError(.unauthorized, "log in first (op login or auth)")
        }
        guard session.isValid(at: Clock.now()) else {
            connections[id]?.session = nil
            throw BankError(.unauthorized, "the session has expired; log in again")
        }
        return session
    }

    /// Runs `work` off the actor's critical path and answers with its result; any error that is not a
    /// `BankError` is logged and answered `internal`.
    func respond(_ responder: Responder, _ work: @escaping @Sendable () async throws -> JSONValue) {
        let logger = self.logger
        Task {
            do {
                responder.succeed(try await work())
            } catch let error as BankError {
                responder.fail(error)
            } catch {
                logger.error("request failed", metadata: ["error": "\(error)"])
                responder.fail(BankError(.internalError, "the operation failed inside the hub; it did not happen"))
            }
        }
    }

    /// A customer account the caller owns, or `not_found` (also for other customers' accounts).
    func ownedAccount(_ account: AccountID, by user: UserID) async throws(BankError) -> AccountID {
        guard await ledger.owner(of: account) == user else { throw .notFound("no account \(account)") }
        return account
    }
}
