@testable import BankHub
import BankWire
import Testing
import WebSocketClient

/// Anonymous connections do not idle forever: one that has not logged in within its time is closed with 4001.
@Suite(.serialized) struct SignInDeadlineTests {
    /// A connection that never logs in is closed with 4001 "authenticate first"; one that logged in in time
    /// stays open past that time.
    @Test func closesConnectionsThatDoNotLogIn() async throws {
        // Long enough for `member` to sign up and log in (two PBKDF2 hashes) while the whole suite runs in
        // parallel on two cores (3 s was once too short there), short enough for a quick test.
        try await TestHub.with(configure: {
            $0.hub.anonymousConnectionMillisecondsMax = 8_000
            $0.hub.deadlineCheckMilliseconds = 50
        }) { hub in
            let idle = try await hub.client()
            let member = try await hub.client()
            _ = try await member.ok("signup", ["username": "alice", "password": "correct horse battery"])
            _ = try await member.ok("login", ["username": "alice", "password": "correct horse battery"])
            let later = try await hub.client()
            #expect(try await idle.receiveRaw(timeout: .seconds(30)) == .close(code: 4001, reason: "authenticate first"))
            // Deadlines are handled in time order: once the one opened after `member` is closed, `member`'s
            // deadline has been handled too, and the signed-in connection still answers.
            #expect(try await later.receiveRaw(timeout: .seconds(30)) == .close(code: 4001, reason: "authenticate first"))
            _ = try await member.ok("accounts")
        }
    }

    /// A connection whose session ended (logout) gets a new time to log in, then is closed too.
    @Test func closesConnectionsThatStayAnonymousAfterLogout() async throws {
        try await TestHub.with(configure: {
            $0.hub.anonymousConnectionMillisecondsMax = 3_000
            $0.hub.deadlineCheckMilliseconds = 50
        }) { hub in
            let client = try await hub.client()
            _ = try await client.ok("signup", ["username": "alice", "password": "correct horse battery"])
            _ = try await client.ok("login", ["username": "alice", "password": "correct horse battery"])
            _ = try await client.ok("logout")
            #expect(try await client.receiveRaw() == .close(code: 4001, reason: "authenticate first"))
        }
    }
}

/// The deadline heap, driven with a fake clock.
struct ConnectionDeadlinesTests {
    /// Deadlines come out in time order, only once due, each once.
    @Test func yieldsDueDeadlinesInTimeOrder() {
        var deadlines = ConnectionDeadlines()
        for (at, connection) in [(500, 1), (100, 2), (300, 3), (100, 4), (900, 5)] as [(Int64, UInt64)] {
            deadlines.add(.init(at: at, connection: connection, kind: .signIn))
        }
        #expect(deadlines.next == 100)
        #expect(deadlines.due(now: 99).isEmpty)
        #expect(Set(deadlines.due(now: 100).map(\.connection)) == [2, 4])
        #expect(deadlines.due(now: 600).map(\.connection) == [3, 1])
        #expect(deadlines.due(now: 600).isEmpty)
        #expect(deadlines.count == 1)
        #expect(deadlines.next == 900)
    }

    /// Pruning keeps only what it is told to and the heap still yields in order.
    @Test func prunesAndStaysOrdered() {
        var deadlines = ConnectionDeadlines()
        for index in 0..<100 {
            deadlines.add(.init(at: Int64((index * 37) % 100), connection: UInt64(index),
                                kind: .sessionExpiry(tokenHash: [UInt8(index)])))
        }
        deadlines.prune { $0.connection % 2 == 0 }
        #expect(deadlines.count == 50)
        let all = deadlines.due(now: 1_000)
        #expect(all.count == 50)
        #expect(all.allSatisfy { $0.connection % 2 == 0 })
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.at <= $1.at })
    }
}
