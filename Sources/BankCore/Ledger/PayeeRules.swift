/// The limits of a user's saved payees (recipients of transfers).
public enum PayeeRules {
    /// Payees one user may keep; past this, `payee_add` is `conflict`.
    public static let payeesPerUserMax = 200
    /// A payee's nickname: 1 to 64 characters, no control characters.
    public static let nicknameLengthMax = 64
}
