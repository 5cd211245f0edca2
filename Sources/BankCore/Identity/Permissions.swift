/// Who may call which op: the one place where permissions are decided. docs/protocol.md prints this table
/// and a test walks every op as every role and as nobody.
public enum Permissions {
    public enum Access: String, Sendable, CaseIterable {
        /// No login needed.
        case anyone
        /// Any logged-in user, on their own data.
        case user
        /// Employees and admins.
        case staff
        /// Admins only.
        case admin

        public func allows(_ role: Role) -> Bool {
            switch self {
            case .anyone, .user: true
            case .staff: role >= .employee
            case .admin: role == .admin
            }
        }
    }

    public struct Rule: Sendable, Equatable {
        public let access: Access
        /// An admin op that changes state: it also needs `admin_key` or a fresh `totp` code.
        public let needsStepUp: Bool

        init(_ access: Access, stepUp: Bool = false) {
            self.access = access
            self.needsStepUp = stepUp
        }
    }

    public static let table: [String: Rule] = [
        "signup": Rule(.anyone), "login": Rule(.anyone), "auth": Rule(.anyone),
        "forgot_password": Rule(.anyone), "reset_password": Rule(.anyone),
        "logout": Rule(.user), "change_password": Rule(.user), "open_account": Rule(.user), "accounts": Rule(.user),
        "deposit": Rule(.user), "withdraw": Rule(.user), "transfer": Rule(.user), "history": Rule(.user),
        "balance_at": Rule(.user), "subscribe": Rule(.user), "unsubscribe": Rule(.user), "confirm_otp": Rule(.user),
        "totp_enroll": Rule(.user), "totp_confirm": Rule(.user), "request_create": Rule(.user),
        "requests": Rule(.user), "request_cancel": Rule(.user), "login_history": Rule(.user),
        "customers": Rule(.staff), "transactions": Rule(.staff), "request_approve": Rule(.staff),
        "request_reject": Rule(.staff),
        "users": Rule(.admin), "audit": Rule(.admin), "threats": Rule(.admin), "login_stats": Rule(.admin),
        "set_role": Rule(.admin, stepUp: true), "lock_user": Rule(.admin, stepUp: true),
        "unlock_user": Rule(.admin, stepUp: true), "lock_account": Rule(.admin, stepUp: true),
        "unlock_account": Rule(.admin, stepUp: true), "ack_threat": Rule(.admin, stepUp: true),
    ]

    /// The rule for `op` called by a user with `role` (nil: not logged in), or the error to answer.
    public static func check(op: String, role: Role?) throws(BankError) -> Rule {
        guard let rule = table[op] else {
            throw .badRequest("unknown op \"\(op.prefix(40))\"", field: "op")
        }
        guard rule.access != .anyone else { return rule }
        guard let role else { throw BankError(.unauthorized, "log in first (op login or auth)") }
        guard rule.access.allows(role) else {
            throw BankError(.forbidden, "\(op) is for \(rule.access == .admin ? "admins" : "staff")")
        }
        return rule
    }
}
