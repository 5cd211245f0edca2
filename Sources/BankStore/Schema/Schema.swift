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
        for migration in migrations where !applied.contains(Int64(migration.version)) {
            try connection.transaction {
                try connection.execute(migration.sql)
                try connection.prepare("INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)")
                    .run(migration.version, Clock.nowMilliseconds())
            }
        }
    }
}
