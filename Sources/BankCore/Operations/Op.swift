/// Every operation of protocol v1 and what the hub must know about it before a handler runs: who may call it,
/// which rate-limit class it spends, whether it moves money and whether an admin step-up guards it.
///
/// This enum is the one table of operations. The WebSocket dispatcher switches over it (so the compiler checks
/// that every op has a handler), the permission check, the rate limiter, the permission-matrix test and the op
/// list in docs/protocol.md all derive from it. Adding an op is one case here and one handler.
public enum Op: String, CaseIterable, Sendable {
    // Sign-in and sessions.
    case signup, login, auth, logout
    case forgotPassword = "forgot_password", resetPassword = "reset_password", changePassword = "change_password"
    case totpEnroll = "totp_enroll", totpConfirm = "totp_confirm", confirmOTP = "confirm_otp"
    case loginHistory = "login_history"
    // Accounts and money.
    case openAccount = "open_account", accounts
    case deposit, withdraw, transfer
    case history, balanceAt = "balance_at"
    // Standing orders and statements.
    case orderCreate = "order_create", orders, orderCancel = "order_cancel", statement
    // Everyday banking: payees, savings goals, the user's own profile.
    case payees, payeeAdd = "payee_add", payeeUpdate = "payee_update", payeeRemove = "payee_remove"
    case goals, goalCreate = "goal_create", goalFund = "goal_fund", goalWithdraw = "goal_withdraw"
    case goalDelete = "goal_delete"
    case profile, updateProfile = "update_profile"
    // Streams.
    case subscribe, unsubscribe
    // Service requests.
    case requestCreate = "request_create", requests, requestCancel = "request_cancel"
    case requestApprove = "request_approve", requestReject = "request_reject"
    // Staff reads.
    case customers, transactions
    // Administration.
    case users, audit, threats, loginStats = "login_stats"
    case setRole = "set_role", lockUser = "lock_user", unlockUser = "unlock_user"
    case lockAccount = "lock_account", unlockAccount = "unlock_account", ackThreat = "ack_threat"

    /// How an op spends the token buckets (see `SecurityGuard`).
    public enum RateClass: String, Sendable {
        /// The per-connection, per-user and per-address buckets.
        case standard
        /// Those, plus the per-address sign-in bucket: ops that issue a code to someone who has not proved who
        /// they are.
        case signIn = "sign_in"
        /// Those of `signIn`, plus the password-hash buckets per address and (when logged in) per user: ops that
        /// run PBKDF2, which costs a core about 140 ms a call.
        case passwordHash = "password_hash"
    }

    /// Who may call this op.
    public var access: Permissions.Access {
        switch self {
        case .signup, .login, .auth, .forgotPassword, .resetPassword:
            .anyone
        case .logout, .changePassword, .totpEnroll, .totpConfirm, .confirmOTP, .loginHistory, .openAccount,
             .accounts, .deposit, .withdraw, .transfer, .history, .balanceAt, .subscribe, .unsubscribe,
             .requestCreate, .requests, .requestCancel, .orderCreate, .orders, .orderCancel, .statement, .payees,
             .payeeAdd, .payeeUpdate, .payeeRemove, .goals, .goalCreate, .goalFund, .goalWithdraw, .goalDelete,
             .profile, .updateProfile:
            .user
        case .customers, .transactions, .requestApprove, .requestReject:
            .staff
        case .users, .audit, .threats, .loginStats, .setRole, .lockUser, .unlockUser, .lockAccount, .unlockAccount,
             .ackThreat:
            .admin
        }
    }

    /// An admin op that changes state: it also needs `admin_key` or a current `totp` code.
    public var needsStepUp: Bool {
        switch self {
        case .setRole, .lockUser, .unlockUser, .lockAccount, .unlockAccount, .ackThreat: true
        default: false
        }
    }

    /// Which rate-limit class the op spends.
    public var rateClass: RateClass {
        switch self {
        case .signup, .login, .resetPassword, .changePassword, .totpEnroll: .passwordHash
        case .forgotPassword: .signIn
        default: .standard
        }
    }

    /// Whether the op can move money through the ledger: the money ops (which take an `idempotency_key`),
    /// `open_account` with an initial deposit, and `goal_delete` returning what a goal saved.
    public var movesMoney: Bool {
        switch self {
        case .deposit, .withdraw, .transfer, .goalFund, .goalWithdraw: true
        case .openAccount, .goalDelete: true
        default: false
        }
    }

    /// Ops that act on the WebSocket connection itself: `auth` binds a token to the socket, `subscribe` and
    /// `unsubscribe` manage the events pushed on it. The HTTP API answers them `bad_request` (a request there
    /// carries its token each time; events come from `GET /api/v1/streams/STREAM`).
    public var isSocketOnly: Bool {
        switch self {
        case .auth, .subscribe, .unsubscribe: true
        default: false
        }
    }

    /// Whether the op may be called on a connection that has not logged in.
    public var isAnonymous: Bool { access == .anyone }
}
