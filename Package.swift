// swift-tools-version:6.0
// BankHub: a real-time banking hub on libwebsockets, SQLite and OpenSSL.
// Targets are layers; see docs/architecture.md for what each one holds and how data flows.
import PackageDescription

let package = Package(
    name: "BankHub",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bankhub", targets: ["bankhub"]),
        .executable(name: "bankhub-bench", targets: ["bankhub-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C boundary: system libraries with a small shim header each.
        .systemLibrary(name: "CLibWebSockets", pkgConfig: "libwebsockets",
                       providers: [.apt(["libwebsockets-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        // epoll and eventfd from the C headers (Glibc does not export them; the event layout is per-CPU).
        .systemLibrary(name: "CEpoll"),

        // Pure domain: money, ledger rules, errors, roles. No I/O.
        .target(name: "BankCore"),
        // Wire format: JSON values, protocol envelopes and argument parsing. No I/O.
        .target(name: "BankWire", dependencies: ["BankCore"]),
        // Crypto: SHA-2, HMAC and PBKDF2 from swift-crypto (measured faster than OpenSSL 3 here); the CSPRNG and
        // constant-time compare from OpenSSL, which the hub links for TLS anyway; TOTP.
        .target(name: "BankCrypto", dependencies: [
            "COpenSSL",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
        ]),
        // Persistence on SQLite: connection, schema, group-commit writer, readers.
        // A thread of its own for blocking work (SQLite, libpq, SMTP), named for the OS; shared by the stores.
        .systemLibrary(name: "CThreadName"),
        .target(name: "DedicatedThreads", dependencies: ["CThreadName"]),
        // Storage seam: the SQL connection protocol both engines implement, and the records written once against it.
        .target(name: "BankStorage", dependencies: ["BankCore"]),
        .target(name: "BankStore", dependencies: ["BankCore", "BankStorage", "CSQLite", "DedicatedThreads"]),
        // WebSocket + static HTTP server on libwebsockets. Knows nothing about banking.
        .target(name: "WebSocketTransport", dependencies: ["CLibWebSockets", "CThreadName"]),
        // SMTP client (STARTTLS via OpenSSL) for the e-mail notification sink.
        .target(name: "SMTPClient", dependencies: ["COpenSSL"]),
        // WebSocket client over POSIX sockets, for tests and the load generator.
        .target(name: "WebSocketClient", dependencies: ["CEpoll"]),
        // The hub: connections, sessions, dispatch, ledger service, fan-out.
        .target(name: "BankHub", dependencies: [
            "BankCore", "BankWire", "BankCrypto", "BankStorage", "BankStore", "BankPostgres", "DedicatedThreads", "WebSocketTransport",
            "SMTPClient", "BankBus",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
        ]),
        // The server executable: serve, admin, outbox.
        .executableTarget(name: "bankhub", dependencies: [
            "BankCore", "BankCrypto", "BankHub", "BankPostgres", "BankStorage", "BankStore", "BankWire", "WebSocketTransport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // The load generator, an executable of its own: transfers, fanout, connections, reconnect, keys.
        .executableTarget(name: "bankhub-bench", dependencies: [
            "BankCore", "BankHub", "BankPostgres", "BankStorage", "BankStore", "BankWire", "WebSocketClient", "WebSocketTransport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),

        .testTarget(name: "BankCoreTests", dependencies: ["BankCore"]),
        .testTarget(name: "BankWireTests", dependencies: ["BankCore", "BankWire"]),
        .testTarget(name: "BankCryptoTests", dependencies: ["BankCrypto"]),
        // The load generator's pure parts (the /proc parsers behind its CPU and run-queue fields, how a scenario
        // spreads its connections over several hubs).
        .testTarget(name: "BankBenchTests", dependencies: ["bankhub-bench"]),
        // Test-only: a fault-injecting SQLite VFS (fails the Nth write or fsync). No product target depends on it.
        .target(name: "CSQLiteFaults", dependencies: ["CSQLite"], path: "Tests/CSQLiteFaults"),
        // Record bodies over `any SQLDatabase`, run on SQLite (BankStoreTests) and PostgreSQL (BankPostgresTests).
        .target(name: "StorageConformance", dependencies: ["BankCore", "BankStorage"], path: "Tests/StorageConformance"),
        .testTarget(name: "BankStoreTests", dependencies: ["BankCore", "BankStorage", "BankStore", "CSQLiteFaults",
                                                           "StorageConformance"]),
        .testTarget(name: "WebSocketTransportTests", dependencies: ["WebSocketTransport", "WebSocketClient"]),
        // A real local SMTP server (aiosmtpd in a child process) for the SMTP and notifier tests.
        // Loopback ports and the error type shared by the test peers below.
        .target(name: "PeerSupport", path: "Tests/PeerSupport"),
        .target(name: "SMTPTestPeer", dependencies: ["PeerSupport"], path: "Tests/SMTPTestPeer",
                exclude: ["smtp_peer.py"]),
        .testTarget(name: "SMTPClientTests", dependencies: ["SMTPClient", "SMTPTestPeer"]),
        // PostgreSQL ledger (issue 14): libpq through a shim, and the ledger whose rules run inside PostgreSQL
        // transactions (group commit, accounts locked in id order). A test peer starts a throwaway server.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "BankPostgres", dependencies: ["BankCore", "BankStorage", "CLibPQ", "DedicatedThreads"]),
        .target(name: "PostgresTestPeer", dependencies: ["PeerSupport"], path: "Tests/PostgresTestPeer"),
        .testTarget(name: "BankPostgresTests", dependencies: ["BankCore", "BankPostgres", "BankStorage", "PostgresTestPeer",
                                                              "StorageConformance"]),

        // Several-hub mode (issue 14): the NATS client library, the event bus over it, a real nats-server peer.
        .systemLibrary(name: "CNATS", pkgConfig: "libnats", providers: [.apt(["libnats-dev"])]),
        // Event bus between hubs: NATS connection, event envelope codec, per-stream gap tracking. No banking.
        // Crypto (swift-crypto): the Ed25519 public key of an NKey seed (`--bus-nkey-seed-file`); BankCrypto: its
        // base32.
        .target(name: "BankBus", dependencies: ["CNATS", "BankCrypto", .product(name: "Crypto", package: "swift-crypto")]),
        // A real nats-server child process on a free port, stoppable and restartable for fault tests.
        .target(name: "NATSTestPeer", dependencies: ["PeerSupport"], path: "Tests/NATSTestPeer"),
        .testTarget(name: "BankBusTests", dependencies: ["BankBus", "NATSTestPeer",
                                                         .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "BankHubTests", dependencies: [
            "BankHub", "BankCore", "BankCrypto", "BankStorage", "BankStore", "BankWire", "WebSocketClient", "WebSocketTransport",
            "SMTPTestPeer", "CSQLiteFaults", "BankBus", "NATSTestPeer", "BankPostgres", "PostgresTestPeer",
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
