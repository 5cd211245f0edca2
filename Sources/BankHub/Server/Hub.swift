import BankCore
import BankStorage
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
        /// While anonymous: when it must have logged in (see `Hub+Deadlines`); nil while signed in.
        var signInDeadline: Int64?
        /// A WebSocket unless opened by the HTTP API (see Hub+HTTP.swift).
        var kind = ConnectionKind.webSocket
    }

    var connections: [ConnectionID: Connection] = [:]
    var accepting = true
    let sink: any FrameSink
    let services: HubServices
    let configuration: HubConfiguration
    let inFlight = InFlightCounter()
    /// Orders changes to the service-request queue (see `ServiceRequestGate`).
    let requestGate = ServiceRequestGate()
    /// Keeps each connection's money ops in arrival order off the shared loop (see `MoneyLanes`).
    let moneyLanes = MoneyLanes()
    /// Sign-in deadlines of anonymous connections and expiry times of sessions (see `Hub+Deadlines`).
    var deadlines = ConnectionDeadlines()
    /// Orders each user's changes of payees and profile (see `KeyedSerialQueue`).
    let userChanges = KeyedSerialQueue<UserID>()
    /// Ids of new payees, chosen before their commit so that the `payee` event can name them.
    let payeeIDs = IdentifierAllocator()
    /// Money ops checked and waiting to enter the ledger together, in arrival order (see `Hub+Inbound`).
    var ledgerQueue: [LedgerService.Submission] = []
    let statistics: HubStatistics
    let logger: Logger

    nonisolated var ledger: any LedgerAuthority { services.ledger }
    nonisolated var auth: AuthService { services.auth }
    nonisolated var notifier: Notifier { services.notifier }
    nonisolated var totp: SecondFactor { services.totp }
    nonisolated var readers: any StorageReaders { services.readers }
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
        startSignInClock(id)
    }

    func closed(_ id: ConnectionID) {
        guard let connection = connections.removeValue(forKey: id) else { return }
        if connection.kind.isCounted { statistics.connections.subtract(1, ordering: .relaxed) }
        fanout.drop(id)
        security.forget(connection: id)
    }

    /// New requests are answered `unavailable` from now on (shutdown).
    func stopAccepting() { accepting = false }

    /// Where the answer to a WebSocket request goes: a reply frame on the connection.
    func responder(for request: Request, from id: ConnectionID) -> Responder {
        Responder(connection: id, requestID: request.id, sink: sink, inFlight: inFlight, op: request.op, logger: logger)
    }

    /// One request on its own (an HTTP request, a test): admitted, and its money op, if any, in the ledger
    /// before this returns.
    func handle(_ id: ConnectionID, _ request: Request, responder: Responder) async {
        await admit(id, request, responder: responder)
        await flushLedger()
    }

    /// Every request, from a WebSocket frame or an HTTP request, goes through here: shutdown, rate limits,
    /// the in-flight limit, the permission check, then the handler. `responder` says where the answer goes.
    /// A deposit, withdrawal or transfer may be left in `ledgerQueue`: the caller flushes it.
    func admit(_ id: ConnectionID, _ request: Request, responder: Responder) async {
        guard connections[id] != nil else { return }
        statistics.requests.add(1, ordering: .relaxed)
        guard accepting else {
            responder.refuse(BankError(.unavailable, "the hub is shutting down"))
            return
        }
        if let refusal = rateLimit(request.op, from: id) {
            responder.refuse(refusal)
            return
        }
        guard inFlight.begin(id, limit: configuration.requestsInFlightMax) else {
            responder.refuse(BankError(
                .rateLimited, "more than \(configuration.requestsInFlightMax) requests in flight", retryAfterSeconds: 1))
            return
        }
        // The reads of sign-in ops run on their own reader, so heavy reads of other clients cannot stall them.
        await ReadLane.$current.withValue(Self.signInReadOps.contains(request.op) ? .signIn : .general) {
            do throws(BankError) {
                try await dispatch(request, from: id, responder: responder)
            } catch {
                responder.fail(error)
            }
        }
    }

    /// Ops whose reads (users, sessions, the login history) take the readers' sign-in lane.
    static let signInReadOps: Set<Op> = [.login, .auth]

    /// `steppedUp`: the admin step-up of this request was checked (off the shared loop, see `stepUp`).
    func dispatch(_ request: Request, from id: ConnectionID, responder: Responder,
                  steppedUp: Bool = false) async throws(BankError) {
        let args = request.args
        try Permissions.check(op: request.op, role: try currentRole(of: id))
        if request.op.needsStepUp, !steppedUp { return try stepUp(request, from: id, responder: responder) }
        switch request.op {
        case .signup: try signUp(args, responder)
        case .login: try logIn(args, from: id, responder)
        case .auth: try authenticate(args, from: id, responder)
        case .logout: try logOut(from: id, responder)
        case .openAccount: try openAccount(args, from: id, responder)
        case .accounts: try listAccounts(from: id, responder)
        case .deposit, .withdraw, .transfer:
            try await inMoneyLane(id, responder, always: request.op == .transfer && security.policy.otpNewPayee) {
                try await self.moveMoney(request.op, args, from: id, responder)
            }
        case .history: try await history(args, from: id, responder)
        case .balanceAt: try await balanceAt(args, from: id, responder)
        case .payees: try listPayees(from: id, responder)
        case .payeeAdd: try await addPayee(args, from: id, responder)
        case .payeeUpdate: try updatePayee(args, from: id, responder)
        case .payeeRemove: try removePayee(args, from: id, responder)
        case .goals: try listGoals(from: id, responder)
        case .goalCreate: try createGoal(args, from: id, responder)
        case .goalFund, .goalWithdraw: try await moveGoalMoney(request.op, args, from: id, responder)
        case .goalDelete: try await deleteGoal(args, from: id, responder)
        case .profile: try showProfile(from: id, responder)
        case .updateProfile: try updateProfile(args, from: id, responder)
        case .subscribe: try await subscribe(args, from: id, responder)
        case .unsubscribe: try unsubscribe(args, from: id, responder)
        case .confirmOTP:
            try await inMoneyLane(id, responder, always: true) { try await self.confirmCode(args, from: id, responder) }
        case .forgotPassword: try forgotPassword(args, responder)
        case .resetPassword: try resetPassword(args, from: id, responder)
        case .changePassword: try changePassword(args, from: id, responder)
        case .totpEnroll: try totpEnroll(args, from: id, responder)
        case .totpConfirm: try totpConfirm(args, from: id, responder)
        case .setRole: try setRole(args, from: id, responder)
        case .lockUser: try lockUser(args, from: id, responder)
        case .unlockUser: try unlockUser(args, from: id, responder)
        case .lockAccount: try setAccountLock(true, args, from: id, responder)
        case .unlockAccount: try setAccountLock(false, args, from: id, responder)
        case .threats: try listThreats(args, responder)
        case .ackThreat: try ackThreat(args, from: id, responder)
        case .loginHistory: try loginHistory(args, from: id, responder)
        case .loginStats: try loginStats(args, responder)
        case .requestCreate: try await createRequest(args, from: id, responder)
        case .requests: try listRequests(args, from: id, responder)
        case .requestCancel: try cancelRequest(args, from: id, responder)
        case .requestApprove: try approveRequest(args, from: id, responder)
        case .requestReject: try rejectRequest(args, from: id, responder)
        case .customers: try searchCustomers(args, responder)
        case .transactions: try listTransactions(args, responder)
        case .users: try listUsers(args, responder)
        case .audit: try listAudit(args, responder)
        case .orderCreate: try await createOrder(args, from: id, responder)
        case .orders: try listOrders(args, from: id, responder)
        case .orderCancel: try cancelOrder(args, from: id, responder)
        case .statement: try await statement(args, from: id, responder)
        }
    }

    /// The token buckets' answer for this request: nil to go on, else `rate_limited` with `retry_after`.
    /// Each refused source raises at most one `rate_limited` threat a minute.
    private func rateLimit(_ op: Op, from id: ConnectionID) -> BankError? {
        guard let connection = connections[id] else { return nil }
        let user = connection.session?.user
        let address = connection.info.peerAddress
        let now = Clock.nowMilliseconds()
        guard let (wait, bucket) = security.admit(op: op, connection: id, user: user?.id, address: address, now: now) else {
            return nil
        }
        if security.mayRaise("rate:\(bucket):\(user?.username ?? address)", now: now) {
            threats.report(.rateLimited, user: user?.id, username: user?.username, ip: address,
                           detail: "\(bucket) rate limit hit on \(op.rawValue)")
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
            endSession(of: id, .sessionExpired)
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
        guard try await ledger.owner(of: account) == user else { throw .notFound("no account \(account)") }
        return account
    }
}
