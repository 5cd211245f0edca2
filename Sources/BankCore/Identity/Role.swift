/// Who a user is to the bank. Raw values are stored and sent on the wire.
public enum Role: String, Sendable, CaseIterable, Comparable {
    case customer
    case employee
    case admin

    private var rank: Int {
        switch self {
        case .customer: 0
        case .employee: 1
        case .admin: 2
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}

public enum UserStatus: String, Sendable {
    case active
    case locked
}
