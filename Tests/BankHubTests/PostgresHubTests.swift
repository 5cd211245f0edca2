@testable import BankHub
import BankCrypto
import Foundation
import Logging
import Testing

/// A hub on PostgreSQL (`serve --database`), whichever engine the rest of the run uses: one hub per database,
/// and the one-time-code key kept out of the database.
@Suite(.disabled(if: TestDatabase.isPair, "one hub alone on its database, started by itself (the other runs run it)"))
struct PostgresHubTests {
    /// Options of a hub on `url` with a code key, as `serve --database URL` with BANKHUB_CODE_KEY builds them.
    static func options(_ url: String) -> HubServer.Options {
        var options = HubServer.Options()
        options.databaseURL = url
        options.transport.port = 0
        options.transport.httpIdleSeconds = TestHub.httpIdleSeconds
        options.transport.webRoot = TestHub.webRoot
        options.hub.passwordIterations = 1_000
        options.hub.codeKeyHex = Hex.encode(SecureRandom.bytes(32))
        return options
    }

    static var quiet: Logger {
        var logger = Logger(label: "bankhub-test")
        logger.logLevel = .critical
        return logger
    }

    /// While a hub serves a database, a second hub on it is refused at start with a message naming why, and
    /// the first one keeps serving: its customer's money is intact.
    @Test func secondHubOnTheSameDatabaseIsRefused() async throws {
        let url = try TestDatabase.freshDatabaseURL()
        try await TestHub.with(configure: { $0 = Self.options(url) }) { hub in
            let alice = try await hub.customer("alice", deposit: "25.00")
            await #expect {
                _ = try await HubServer.open(Self.options(url), logger: Self.quiet)
            } throws: { error in
                "\(error)" == "another hub serves this database; several hubs need --bus on every one of them"
            }
            let accounts = try await alice.client.ok("accounts")["accounts"]?.arrayValue ?? []
            #expect(accounts.first?["balance"] == "25.00")
        }
    }

    /// A hub on PostgreSQL without BANKHUB_CODE_KEY or a key file does not start: a key kept in the database
    /// would sit beside the code hashes it protects.
    @Test func hubWithoutACodeKeyOutsideTheDatabaseIsRefused() async throws {
        var options = Self.options(try TestDatabase.freshDatabaseURL())
        options.hub.codeKeyHex = nil
        await #expect {
            _ = try await HubServer.open(options, logger: Self.quiet)
        } throws: { error in
            "\(error)".contains("BANKHUB_CODE_KEY or --code-key-file")
        }
    }
}
