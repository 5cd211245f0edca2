/// Who may call which op: the one place where permissions are decided. Each op's access comes from the `Op`
/// table; docs/protocol.md prints it and a test walks every op as every role and as nobody.
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

    /// Nothing when `op` may be called by a user with `role` (nil: not logged in), else the error to answer.
    public static func check(op: Op, role: Role?) throws(BankError) {
        let access = op.access
        guard access != .anyone else { return }
        guard let role else { throw BankError(.unauthorized, "log in first (op login or auth)") }
        guard access.allows(role) else {
            throw BankError(.forbidden, "\(op.rawValue) is for \(access == .admin ? "admins" : "staff")")
        }
    }
}
