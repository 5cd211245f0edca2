import BankWire
import Logging
import Testing

/// The per-request log line: every answered request logs one `request` line at debug with its op, code,
/// duration and connection, and nothing the client sent (arguments, passwords, tokens, notes).
@Suite struct RequestLogTests {
    static let password = "request-log-password-1"

    /// A failed login, a login and a deposit each log op and code; the password, the token and the note don't
    /// appear in any line.
    @Test func logsOpAndCodeButNoSecret() async throws {
        let lines = CapturedLog()
        var logger = Logger(label: "bankhub-test") { _ in CapturingLogHandler(lines: lines) }
        logger.logLevel = .debug
        try await TestHub.with(logger: logger) { hub in
            let client = try await hub.client()
            let signedUp = try await client.ok("signup", ["username": "logbob", "password": .string(Self.password)])
            #expect(try await client.errorCode("login", ["username": "logbob", "password": "not-the-password-9"])
                    == "unauthorized")
            let login = try await client.ok("login", ["username": "logbob", "password": .string(Self.password)])
            let token = try #require(login["token"]?.stringValue)
            let account = try #require(signedUp["account"]?["id"]?.stringValue)
            _ = try await client.ok("deposit", ["account": .string(account), "amount": "12.34",
                                                "note": "a private deposit note"])
            let requests = lines.all.filter { $0.hasPrefix("request ") }
            #expect(requests.contains { $0.contains("op=login") && $0.contains("code=unauthorized") })
            #expect(requests.contains { $0.contains("op=login") && $0.contains("code=ok") })
            #expect(requests.contains { $0.contains("op=deposit") && $0.contains("code=ok") })
            #expect(requests.allSatisfy { $0.contains("duration_ms=") && $0.contains("connection=") })
            for secret in [Self.password, "not-the-password-9", token, "a private deposit note"] {
                #expect(!lines.all.contains { $0.contains(secret) }, "\(secret) was logged")
            }
        }
    }
}
