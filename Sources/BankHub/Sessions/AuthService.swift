import BankCore
import BankCrypto
import BankStorage
import Dispatch

/// Sign-up, login, token sessions and logout.
///
/// Passwords: PBKDF2-HMAC-SHA256 from OpenSSL (600,000 iterations by default), salted per user, compared in
/// constant time. The key derivation runs on its own dispatch queue so it never holds one of the two threads
/// of Swift's cooperative pool. Tokens: 256 random bits from OpenSSL's CSPRNG; only their SHA-256 is stored.
final class AuthService: Sendable {
    private let hasher: PasswordHasher
    private let writer: any StorageWriter
    private let readers: any StorageReaders
    private let sessionLifetimeMilliseconds: Int64
    private let kdfQueue = DispatchQueue(label: "bankhub.kdf", attributes: .concurrent)
    /// Verified against when a username is unknown, so both failures cost the same time.
    private let decoyHash: String

    init(hasher: PasswordHasher, writer: any StorageWriter, readers: any StorageReaders, sessionLifetimeHours: Int) {
        precondition(sessionLifetimeHours > 0, "sessions must live for some time")
        self.hasher = hasher
        self.writer = writer
        self.readers = readers
        self.sessionLifetimeMilliseconds = Int64(sessionLifetimeHours) * 3_600_000
        self.decoyHash = hasher.hash(password: Base64URL.encode(SecureRandom.bytes(16)))
    }

    struct SignUp: Sendable {
        let username: String
        let password: String
        let email: String?
        let phone: String?
        let fullName: String?
        var role: Role = .customer
    }

    func signUp(_ request: SignUp) async throws -> UserRecord {
        let user = await newUser(request)
        return try await writer.write { db in try UserRecords.insert(db, user) }
    }

    /// The user row a sign-up stores, with its password hashed (off the cooperative pool), for a caller that
    /// writes it in a commit of its own (`signup` stores the first account with it).
    func newUser(_ request: SignUp) async -> UserRecords.NewUser {
        let hash = await derive { [hasher] in hasher.hash(password: request.password) }
        return UserRecords.NewUser(username: request.username, passwordHash: hash, role: request.role,
                                   email: request.email, phone: request.phone, fullName: request.fullName,
                                   at: Clock.now())
    }

    /// What a username and password amount to. Every case costs one key derivation, so timing does not tell an
    /// unknown user from a wrong password, nor, for a locked user, a right password from a wrong one.
    enum CredentialCheck: Sendable {
        case unknownUser
        case wrongPassword(UserRecord)
        /// A locked user, whatever the password; `passwordMatches` is for counting failures only and must not
        /// change the answer (a lock that answered differently would let guessing go on through it).
        case locked(UserRecord, passwordMatches: Bool)
        case valid(UserRecord)
    }

    func check(username: String, password: String) async throws -> CredentialCheck {
        // Sign-in reads take the readers' sign-in lane whoever calls (a socket's login, an HTTP bearer check).
        let found = try await ReadLane.$current.withValue(.signIn) {
            try await readers.read { db in try UserRecords.credentials(db, username: username) }
        }
        let encoded = found?.1 ?? decoyHash
        let matches = await derive { [hasher] in hasher.verify(password: password, encoded: encoded) }
        guard let user = found?.0 else { return .unknownUser }
        guard user.status == .active else { return .locked(user, passwordMatches: matches) }
        return matches ? .valid(user) : .wrongPassword(user)
    }

    /// Opens a session for a user whose credentials were checked: a new token, stored only as its hash.
    func openSession(for user: UserRecord) async throws -> (token: String, session: Session) {
        let token = SecureRandom.bytes(32)
        let tokenHash = SHA256.hash(token)
        let now = Clock.now()
        let expiresAt = Timestamp(milliseconds: now.milliseconds + sessionLifetimeMilliseconds)
        try await writer.write { db in
            try UserRecords.insertSession(db, tokenHash: tokenHash, user: user.id, at: now, expiresAt: expiresAt)
        }
        return (Base64URL.encode(token), Session(user: user, tokenHash: tokenHash, expiresAt: expiresAt))
    }

    /// Sets a new password hash for `user` and revokes their sessions except `keeping`; the revocation is
    /// logged in the same commit for the other hubs of the database (`RevocationFeed`).
    func setPassword(_ password: String, for user: UserID, keeping: [UInt8]?) async throws {
        let hash = await derive { [hasher] in hasher.hash(password: password) }
        let now = Clock.now()
        try await writer.write { db in
            try SecurityRecords.setPassword(db, user: user, hash: hash)
            try SecurityRecords.revokeSessions(db, user: user, keeping: keeping, at: now)
            try SessionRevocationRecords.append(db, user: user, tokenHash: nil, reason: .passwordChanged, at: now)
        }
    }

    /// Resumes a session from a token given by `logIn`.
    func authenticate(token: String) async throws -> Session {
        guard let raw = Base64URL.decode(token), raw.count == 32 else {
            throw BankError(.unauthorized, "token is not valid")
        }
        let tokenHash = SHA256.hash(raw)
        let record = try await ReadLane.$current.withValue(.signIn) {
            try await readers.read { db in try UserRecords.session(db, tokenHash: tokenHash) }
        }
        guard let record, !record.revoked, Clock.now() < record.expiresAt else {
            throw BankError(.unauthorized, "token is not valid or has expired")
        }
        guard record.user.status == .active else {
            throw BankError(.accountLocked, "user \(record.user.username) is locked")
        }
        return Session(user: record.user, tokenHash: tokenHash, expiresAt: record.expiresAt)
    }

    /// Revokes one session of `user` (logout), logged in the same commit for the other hubs.
    func revoke(tokenHash: [UInt8], of user: UserID) async throws {
        let now = Clock.now()
        try await writer.write { db in
            try UserRecords.revokeSession(db, tokenHash: tokenHash, at: now)
            try SessionRevocationRecords.append(db, user: user, tokenHash: tokenHash, reason: .logout, at: now)
        }
    }

    private func derive<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            kdfQueue.async { continuation.resume(returning: work()) }
        }
    }
}
