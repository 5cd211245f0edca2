import BankCore

/// A change to a user's profile: each field is kept as it is, or set (to a value, or to nothing).
public struct ProfileChange: Sendable, Equatable {
    public enum Field: Sendable, Equatable {
        case keep
        /// The new value; nil clears the field.
        case set(String?)

        func applied(to current: String?) -> String? {
            switch self {
            case .keep: current
            case .set(let value): value
            }
        }
    }

    public var fullName: Field
    public var email: Field
    public var phone: Field

    public init(fullName: Field = .keep, email: Field = .keep, phone: Field = .keep) {
        self.fullName = fullName
        self.email = email
        self.phone = phone
    }

    /// The user as this change leaves them.
    public func applied(to user: UserRecord) -> UserRecord {
        UserRecord(id: user.id, username: user.username, role: user.role, status: user.status,
                   email: email.applied(to: user.email), phone: phone.applied(to: user.phone),
                   fullName: fullName.applied(to: user.fullName), createdAt: user.createdAt)
    }

    /// Whether it changes how `user` is reached (their e-mail or phone): such a change needs a code sent to
    /// the contact already on file.
    public func changesContact(of user: UserRecord) -> Bool {
        let after = applied(to: user)
        return after.email != user.email || after.phone != user.phone
    }
}

/// Writes of the profile fields of `users` (full name, e-mail, phone).
public enum ProfileRecords {
    /// Sets the fields `change` sets and leaves the others.
    public static func update(_ db: any SQLDatabase, user: UserID, _ change: ProfileChange) throws {
        for (column, field) in [("full_name", change.fullName), ("email", change.email), ("phone", change.phone)] {
            guard case .set(let value) = field else { continue }
            try db.prepare("UPDATE users SET \(column) = ? WHERE id = ?").run(value, user.rawValue)
            precondition(db.changes == 1, "the profile of an existing user is updated")
        }
    }
}
