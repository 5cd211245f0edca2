import BankStorage

/// The database schema, as numbered migrations applied in order inside one transaction each.
///
/// Money is INTEGER cents; times are INTEGER milliseconds since the Unix epoch. Postings, transactions and
/// events are append-only: triggers make SQLite itself refuse UPDATE and DELETE on them.
enum Schema {
    static let migrations: [(version: Int, sql: String)] = [
        (1, """
        CREATE TABLE users(
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'employee', 'admin')),
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'locked')),
            email TEXT,
            phone TEXT,
            full_name TEXT,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE sessions(
            token_hash BLOB PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            revoked_at INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX sessions_user ON sessions(user_id);
        CREATE TABLE accounts(
            id INTEGER PRIMARY KEY,
            owner_id INTEGER REFERENCES users(id),
            kind TEXT NOT NULL CHECK (kind IN ('customer', 'cash')),
            name TEXT NOT NULL,
            currency TEXT NOT NULL DEFAULT 'USD',
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'locked', 'closed')),
            balance INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            CHECK (kind = 'cash' OR owner_id IS NOT NULL),
            CHECK (kind = 'cash' OR balance >= 0)
        );
        CREATE INDEX accounts_owner ON accounts(owner_id);
        CREATE TABLE transactions(
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'transfer')),
            user_id INTEGER NOT NULL REFERENCES users(id),
            amount INTEGER NOT NULL CHECK (amount > 0),
            debit_account INTEGER NOT NULL REFERENCES accounts(id),
            credit_account INTEGER NOT NULL REFERENCES accounts(id),
            note TEXT,
            idempotency_key TEXT,
            created_at INTEGER NOT NULL,
            UNIQUE (user_id, idempotency_key),
            CHECK (debit_account <> credit_account)
        );
        CREATE TABLE postings(
            id INTEGER PRIMARY KEY,
            txn_id INTEGER NOT NULL REFERENCES transactions(id),
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            amount INTEGER NOT NULL CHECK (amount <> 0),
            balance_after INTEGER NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX postings_account ON postings(account_id, id);
        CREATE INDEX postings_txn ON postings(txn_id);
        CREATE TABLE events(
            stream TEXT NOT NULL,
            seq INTEGER NOT NULL CHECK (seq > 0),
            kind TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (stream, seq)
        ) WITHOUT ROWID;
        CREATE TRIGGER postings_are_immutable_update BEFORE UPDATE ON postings
            BEGIN SELECT RAISE(ABORT, 'postings are immutable'); END;
        CREATE TRIGGER postings_are_immutable_delete BEFORE DELETE ON postings
            BEGIN SELECT RAISE(ABORT, 'postings are immutable'); END;
        CREATE TRIGGER transactions_are_immutable_update BEFORE UPDATE ON transactions
            BEGIN SELECT RAISE(ABORT, 'transactions are immutable'); END;
        CREATE TRIGGER transactions_are_immutable_delete BEFORE DELETE ON transactions
            BEGIN SELECT RAISE(ABORT, 'transactions are immutable'); END;
        CREATE TRIGGER events_are_immutable_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'events are immutable'); END;
        CREATE TRIGGER events_are_immutable_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'events are immutable'); END;
        INSERT INTO accounts(id, owner_id, kind, name, created_at) VALUES (1, NULL, 'cash', 'Bank cash', 0);
        """),
        (2, """
        ALTER TABLE users ADD COLUMN locked_until INTEGER;
        ALTER TABLE users ADD COLUMN lock_reason TEXT;
        ALTER TABLE users ADD COLUMN totp_secret BLOB;
        ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
        CREATE INDEX transactions_user ON transactions(user_id, id);
        CREATE INDEX transactions_time ON transactions(created_at);
        CREATE TABLE login_attempts(
            id INTEGER PRIMARY KEY,
            user_id INTEGER REFERENCES users(id),
            username TEXT NOT NULL,
            ip TEXT NOT NULL,
            user_agent TEXT,
            outcome TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX login_attempts_user ON login_attempts(user_id, created_at);
        CREATE INDEX login_attempts_ip ON login_attempts(ip, created_at);
        CREATE TABLE otp_challenges(
            id TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            purpose TEXT NOT NULL CHECK (purpose IN ('transfer', 'withdraw', 'password_reset')),
            payload TEXT NOT NULL,
            code_hash BLOB NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'used', 'dead')),
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE outbox(
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
            recipient TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            sent_at INTEGER
        );
        CREATE INDEX outbox_pending ON outbox(status, next_attempt_at);
        CREATE TABLE threats(
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
            user_id INTEGER REFERENCES users(id),
            ip TEXT,
            detail TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            acked_by INTEGER REFERENCES users(id),
            acked_at INTEGER
        );
        CREATE TABLE service_requests(
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            kind TEXT NOT NULL CHECK (kind IN ('password_reset', 'kyc_update', 'account_closure', 'limit_increase')),
            note TEXT NOT NULL,
            account_id INTEGER REFERENCES accounts(id),
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
            created_at INTEGER NOT NULL,
            resolved_at INTEGER,
            resolved_by INTEGER REFERENCES users(id),
            reason TEXT
        );
        CREATE INDEX service_requests_user ON service_requests(user_id, id);
        CREATE TABLE audit_log(
            id INTEGER PRIMARY KEY,
            actor_id INTEGER NOT NULL REFERENCES users(id),
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            detail TEXT,
            created_at INTEGER NOT NULL
        );
        CREATE TRIGGER audit_log_is_immutable_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_log_is_immutable_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """),
        // The ledger's events on customer account streams are derived from postings instead of stored as
        // `events` rows: `seq` is the seq of the posting's `balance` event on `account:<account_id>`, and for
        // a transfer's posting the `transfer` event has seq + 1 (DerivedEvents renders both again with
        // LedgerEventData). NULL on the cash account's postings and on every posting written before this
        // migration: the events of those were stored as rows and are still read as they are, merged by seq
        // with the derived ones. Everything else (rejected transfers, otp, request and threat events, a
        // transfer event on the cash account's stream) stays in `events`.
        (3, """
        ALTER TABLE postings ADD COLUMN seq INTEGER CHECK (seq > 0);
        """),
        // Retention (the janitor, docs/security.md "Retention"): indexes for the purges by age, and for each
        // user's failed login attempts, which are kept only up to a number per user. Nothing else changes.
        (4, """
        CREATE INDEX sessions_expiry ON sessions(expires_at);
        CREATE INDEX otp_challenges_time ON otp_challenges(created_at);
        CREATE INDEX login_attempts_time ON login_attempts(created_at);
        CREATE INDEX login_attempts_failures ON login_attempts(user_id, id) WHERE outcome <> 'success';
        """),
        // Standing orders and monthly statements (docs/protocol.md "Standing orders", "Statements"). Numbered 5,
        // not 4: the retention branch claims 4 (its indexes); versions are applied by number, so a gap is harmless.
        //
        // `standing_orders` holds each order and its progress: `next_index` periods have been processed
        // (`paid` + `failed`), the next is due at `next_due_at` (NULL once the order ended). A period's
        // processing is one commit: its row in `standing_order_payments` (the primary key makes a second
        // payment of one period impossible), the order's progress and, when paid, the transfer itself.
        // `statement_mailings` remembers which monthly e-mail (statement or admin report) each user got for
        // which month; its primary key and the outbox row share one commit, so each is queued at most once.
        // `outbox_id` names the message without a foreign key, so a future purge of old outbox rows need not
        // touch this table.
        (5, """
        CREATE TABLE standing_orders(
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            from_account INTEGER NOT NULL REFERENCES accounts(id),
            to_account INTEGER NOT NULL REFERENCES accounts(id),
            amount INTEGER NOT NULL CHECK (amount > 0),
            every TEXT NOT NULL CHECK (every IN ('day', 'week', 'month')),
            start_at INTEGER NOT NULL,
            payments_max INTEGER CHECK (payments_max IS NULL OR payments_max > 0),
            note TEXT,
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled', 'completed')),
            next_index INTEGER NOT NULL DEFAULT 0,
            next_due_at INTEGER,
            paid INTEGER NOT NULL DEFAULT 0 CHECK (paid >= 0),
            failed INTEGER NOT NULL DEFAULT 0 CHECK (failed >= 0),
            created_at INTEGER NOT NULL,
            ended_at INTEGER,
            CHECK (from_account <> to_account),
            CHECK (paid + failed = next_index),
            CHECK (payments_max IS NULL OR next_index <= payments_max),
            CHECK ((status = 'active') = (next_due_at IS NOT NULL))
        );
        CREATE INDEX standing_orders_user ON standing_orders(user_id, id);
        CREATE TABLE standing_order_payments(
            order_id INTEGER NOT NULL REFERENCES standing_orders(id),
            period INTEGER NOT NULL CHECK (period >= 0),
            due_at INTEGER NOT NULL,
            txn_id INTEGER REFERENCES transactions(id),
            reason TEXT,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (order_id, period),
            CHECK ((txn_id IS NULL) <> (reason IS NULL))
        ) WITHOUT ROWID;
        CREATE TRIGGER standing_order_payments_are_immutable_update BEFORE UPDATE ON standing_order_payments
            BEGIN SELECT RAISE(ABORT, 'standing order payments are immutable'); END;
        CREATE TRIGGER standing_order_payments_are_immutable_delete BEFORE DELETE ON standing_order_payments
            BEGIN SELECT RAISE(ABORT, 'standing order payments are immutable'); END;
        CREATE TABLE statement_mailings(
            user_id INTEGER NOT NULL REFERENCES users(id),
            month TEXT NOT NULL CHECK (length(month) = 7),
            kind TEXT NOT NULL CHECK (kind IN ('statement', 'admin_report')),
            outbox_id INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, month)
        ) WITHOUT ROWID;
        """),
        // One-time codes by user (docs/security.md "Identity, codes and sessions"): a new challenge retires the
        // user's pending ones of its purpose, and reset codes are found by user, so both look challenges up by
        // user instead of scanning the table. Numbered 6: the retention branch claims 4 and standing orders 5;
        // versions are applied by number, so a gap is harmless.
        (6, """
        CREATE INDEX otp_challenges_user ON otp_challenges(user_id, purpose, status);
        """),
        // Everyday banking (issue 11): savings goals, payees, profile changes held for a code.
        // - `accounts` may hold kind 'goal': a savings goal's money, owned by the customer, tied to one of their
        //   customer accounts by `parent_id` (set exactly on goal accounts), never below zero.
        // - `transactions` may be 'goal_fund' (account → goal) and 'goal_withdraw' (goal → account).
        // - `otp_challenges` may hold a 'profile' change (new e-mail or phone) until its code is confirmed.
        // - `goals`: a goal's target and target date; its name, owner, parent and saved balance are its account's.
        //   A deleted goal's account is closed (its postings stay), and its row stays with it.
        // - `payees`: a user's saved recipients, one per account.
        // SQLite cannot change a CHECK constraint, so the three tables are rebuilt (copy, drop, rename; with
        // foreign keys off during migrations, see `migrate`) with their indexes and triggers, including those
        // earlier migrations added (4: otp_challenges_time, 6: otp_challenges_user). Numbered 7: it was written
        // beside migrations 5 (standing orders) and 6 (challenge index) and applies after them.
        (7, """
        CREATE TABLE accounts_v5(
            id INTEGER PRIMARY KEY,
            owner_id INTEGER REFERENCES users(id),
            kind TEXT NOT NULL CHECK (kind IN ('customer', 'cash', 'goal')),
            name TEXT NOT NULL,
            currency TEXT NOT NULL DEFAULT 'USD',
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'locked', 'closed')),
            balance INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            parent_id INTEGER REFERENCES accounts(id),
            CHECK (kind = 'cash' OR owner_id IS NOT NULL),
            CHECK (kind = 'cash' OR balance >= 0),
            CHECK ((kind = 'goal') = (parent_id IS NOT NULL))
        );
        INSERT INTO accounts_v5(id, owner_id, kind, name, currency, status, balance, created_at)
            SELECT id, owner_id, kind, name, currency, status, balance, created_at FROM accounts;
        DROP TABLE accounts;
        ALTER TABLE accounts_v5 RENAME TO accounts;
        CREATE INDEX accounts_owner ON accounts(owner_id);
        CREATE INDEX accounts_parent ON accounts(parent_id) WHERE parent_id IS NOT NULL;

        CREATE TABLE transactions_v5(
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'transfer', 'goal_fund', 'goal_withdraw')),
            user_id INTEGER NOT NULL REFERENCES users(id),
            amount INTEGER NOT NULL CHECK (amount > 0),
            debit_account INTEGER NOT NULL REFERENCES accounts(id),
            credit_account INTEGER NOT NULL REFERENCES accounts(id),
            note TEXT,
            idempotency_key TEXT,
            created_at INTEGER NOT NULL,
            UNIQUE (user_id, idempotency_key),
            CHECK (debit_account <> credit_account)
        );
        INSERT INTO transactions_v5(id, kind, user_id, amount, debit_account, credit_account, note, idempotency_key,
                                    created_at)
            SELECT id, kind, user_id, amount, debit_account, credit_account, note, idempotency_key, created_at
            FROM transactions;
        DROP TABLE transactions;
        ALTER TABLE transactions_v5 RENAME TO transactions;
        CREATE INDEX transactions_user ON transactions(user_id, id);
        CREATE INDEX transactions_time ON transactions(created_at);
        CREATE TRIGGER transactions_are_immutable_update BEFORE UPDATE ON transactions
            BEGIN SELECT RAISE(ABORT, 'transactions are immutable'); END;
        CREATE TRIGGER transactions_are_immutable_delete BEFORE DELETE ON transactions
            BEGIN SELECT RAISE(ABORT, 'transactions are immutable'); END;

        CREATE TABLE otp_challenges_v5(
            id TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            purpose TEXT NOT NULL CHECK (purpose IN ('transfer', 'withdraw', 'password_reset', 'profile')),
            payload TEXT NOT NULL,
            code_hash BLOB NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'used', 'dead')),
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO otp_challenges_v5(id, user_id, purpose, payload, code_hash, attempts, status, created_at, expires_at)
            SELECT id, user_id, purpose, payload, code_hash, attempts, status, created_at, expires_at FROM otp_challenges;
        DROP TABLE otp_challenges;
        ALTER TABLE otp_challenges_v5 RENAME TO otp_challenges;
        CREATE INDEX otp_challenges_time ON otp_challenges(created_at);
        CREATE INDEX otp_challenges_user ON otp_challenges(user_id, purpose, status);

        CREATE TABLE goals(
            account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
            target INTEGER NOT NULL CHECK (target > 0),
            target_date TEXT CHECK (target_date IS NULL OR length(target_date) = 10)
        );
        CREATE TABLE payees(
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            nickname TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE (user_id, account_id)
        );
        """),
        // Receipts derived from the ledger (docs/protocol.md "Notifications"): the outbox worker reads committed
        // transactions after `receipt_cursor` (the last one whose receipt was recorded), delivers their receipts,
        // and in one commit records them as outbox rows and moves the cursor. One row. An existing database
        // starts at its last transaction, whose receipts were already written the old way (in its commit).
        (8, """
        CREATE TABLE receipt_cursor(
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last_transaction_id INTEGER NOT NULL CHECK (last_transaction_id >= 0)
        );
        INSERT INTO receipt_cursor(id, last_transaction_id) SELECT 1, COALESCE(MAX(id), 0) FROM transactions;
        """),
        // State hubs on one database share (issue 14; the same tables as PostgreSQL's migration 3):
        // - `id_counters`: ids reserved before the commit that names them in an event (`IdentifierRecords`),
        //   starting above the ids the hub chose itself until now;
        // - `session_revocations`: every revocation (logout, password change, lock, role change), written with
        //   the change, which the other hubs poll (`SessionRevocationRecords`); AUTOINCREMENT so an id is never
        //   given twice, even after the oldest rows are deleted;
        // - `code_failures`: wrong one-time codes per user within the window, and `users.failures_reset_at`
        //   (an admin's unlock), so the counts toward the lockout and the code limit are the database's.
        (9, """
        CREATE TABLE id_counters(
            name TEXT PRIMARY KEY,
            last_id INTEGER NOT NULL CHECK (last_id >= 0)
        ) WITHOUT ROWID;
        INSERT INTO id_counters(name, last_id) SELECT 'service_requests', COALESCE(MAX(id), 0) FROM service_requests;
        INSERT INTO id_counters(name, last_id) SELECT 'threats', COALESCE(MAX(id), 0) FROM threats;
        INSERT INTO id_counters(name, last_id) SELECT 'payees', COALESCE(MAX(id), 0) FROM payees;
        CREATE TABLE session_revocations(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id INTEGER NOT NULL REFERENCES users(id),
            token_hash BLOB,
            reason TEXT NOT NULL CHECK (reason IN ('logout', 'password_changed', 'locked', 'role_changed')),
            created_at INTEGER NOT NULL
        );
        CREATE INDEX session_revocations_time ON session_revocations(created_at);
        CREATE TABLE code_failures(
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            created_at INTEGER NOT NULL
        );
        CREATE INDEX code_failures_user ON code_failures(user_id, created_at);
        ALTER TABLE users ADD COLUMN failures_reset_at INTEGER;
        """),
        // The receipt cursor becomes a position (commit order, transaction id), as on PostgreSQL (migration 7),
        // so `ReceiptRecords` runs the same SQL on both engines: one writer commits in id order, so every
        // transaction's `commit_order` is 0 here and the order is the id's, read by the primary key: no index
        // on `commit_order` (`ReceiptRecords.transactions` says why).
        (10, """
        ALTER TABLE transactions ADD COLUMN commit_order INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE receipt_cursor ADD COLUMN last_commit_order INTEGER NOT NULL DEFAULT 0;
        """),
    ]

    /// Pragmas set on every connection. WAL lets readers run beside the one writer; `synchronous=FULL`
    /// makes each COMMIT durable before it returns, which is what "acknowledged after commit" relies on.
    static let connectionPragmas = """
        PRAGMA foreign_keys = ON;
        PRAGMA synchronous = FULL;
        PRAGMA temp_store = MEMORY;
        PRAGMA cache_size = -65536;
        """

    /// Brings the database at `connection` up to the newest schema version.
    static func migrate(_ connection: SQLiteConnection) throws {
        try connection.execute("PRAGMA journal_mode = WAL")
        try connection.execute(connectionPragmas)
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)
            """)
        let applied = Set(try connection.prepare("SELECT version FROM schema_migrations").query { $0.int64(0) })
        // Foreign keys are off while migrating, as SQLite asks for a table rebuild (copy, drop, rename): a DROP
        // TABLE would otherwise check every row pointing at the table. Each migration instead ends with a full
        // `foreign_key_check` inside its transaction, and a violation rolls it back.
        try connection.execute("PRAGMA foreign_keys = OFF")
        defer { try? connection.execute("PRAGMA foreign_keys = ON") }
        for migration in migrations where !applied.contains(Int64(migration.version)) {
            try connection.transaction {
                try connection.execute(migration.sql)
                let broken = try connection.prepare("PRAGMA foreign_key_check").query { row in row.string(0) }
                guard broken.isEmpty else {
                    throw SchemaMigrationError(version: migration.version,
                                               message: "foreign keys broken in " + Set(broken).sorted().joined(separator: ", "))
                }
                try connection.prepare("INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)")
                    .run(migration.version, Clock.nowMilliseconds())
            }
        }
    }
}

/// A migration that would leave the database inconsistent; it was rolled back.
struct SchemaMigrationError: Error, CustomStringConvertible {
    let version: Int
    let message: String
    var description: String { "schema migration \(version) failed: \(message)" }
}
