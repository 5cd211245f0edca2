import BankCore
import BankStorage
import BankWire

/// How domain records look on the wire (see docs/protocol.md). One function per kind of object.
enum WireObjects {
    static func id(_ value: some CustomStringConvertible) -> JSONValue { .string(value.description) }

    static func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }

    static func user(_ user: UserRecord) -> JSONValue {
        ["id": id(user.id), "username": .string(user.username), "role": .string(user.role.rawValue),
         "status": .string(user.status.rawValue), "full_name": optional(user.fullName), "email": optional(user.email),
         "phone": optional(user.phone), "created_at": .string(user.createdAt.rfc3339)]
    }

    static func account(_ account: AccountRecord) -> JSONValue {
        ["id": id(account.id), "name": .string(account.name), "balance": .string(account.balance.description),
         "currency": .string(account.currency), "status": .string(account.status.rawValue),
         "created_at": .string(account.createdAt.rfc3339)]
    }

    static func transaction(id txn: TransactionID, command: LedgerCommand, note: String?, at: Timestamp) -> JSONValue {
        let from: JSONValue = command.kind == .deposit ? .null : id(command.debited)
        let to: JSONValue = command.kind == .withdrawal ? .null : id(command.credited)
        return ["id": id(txn), "kind": .string(command.kind.rawValue), "amount": .string(command.amount.description),
                "from": from, "to": to, "note": optional(note), "at": .string(at.rfc3339)]
    }

    static func historyEntry(_ entry: HistoryEntry) -> JSONValue {
        ["txn": id(entry.transaction), "kind": .string(entry.kind.rawValue), "amount": .string(entry.amount.description),
         "balance_after": .string(entry.balanceAfter.description), "at": .string(entry.at.rfc3339),
         "note": optional(entry.note), "counterparty": entry.counterparty.map(id) ?? .null]
    }
}
