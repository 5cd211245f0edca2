import BankCore
import BankStorage
import BankWire

/// How payees, savings goals and profiles look on the wire (see docs/protocol.md, "Everyday banking").
extension WireObjects {
    static func payee(_ payee: PayeeRecord) -> JSONValue {
        ["id": id(payee.id), "account": id(payee.account), "nickname": .string(payee.nickname),
         "created_at": .string(payee.createdAt.rfc3339)]
    }

    static func goal(_ goal: GoalRecord) -> JSONValue {
        ["id": id(goal.id), "account": id(goal.account), "name": .string(goal.name),
         "target": .string(goal.target.description), "saved": .string(goal.saved.description),
         "target_date": optional(goal.targetDate), "created_at": .string(goal.createdAt.rfc3339)]
    }

    /// A user as `profile` shows it: the user object plus whether a second factor is on.
    static func profile(_ user: UserRecord, totpEnabled: Bool) -> JSONValue {
        guard case .object(var object) = WireObjects.user(user) else { preconditionFailure("a user is an object") }
        object.append(key: "totp_enabled", value: .bool(totpEnabled))
        return .object(object)
    }
}
