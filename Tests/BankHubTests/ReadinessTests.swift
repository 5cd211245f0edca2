import BankStorage
import BankStore
import Foundation
import Testing
@testable import BankHub

/// The readiness rule on a fake clock: probes at most once per interval and one at a time; draining,
/// a failed probe and a probe waiting too long are each "not ready".
struct ReadinessStateTests {
    /// Ready after start-up; a probe starts only once the interval has passed, and only one at a time.
    @Test func probesOncePerIntervalAndOneAtATime() {
        var state = ReadinessState(probeIntervalMilliseconds: 1_000, writeTimeoutMilliseconds: 500, now: 0)
        var check = state.check(now: 10)
        #expect(check.verdict == .ready && !check.startProbe)
        check = state.check(now: 1_000)
        #expect(check.verdict == .ready && check.startProbe)
        check = state.check(now: 1_100)
        #expect(check.verdict == .ready && !check.startProbe, "one probe at a time")
        state.probeFinished(failure: nil, now: 1_200)
        check = state.check(now: 1_300)
        #expect(check.verdict == .ready && !check.startProbe, "the interval counts from the last probe")
    }

    /// A failed probe is "not ready" until a later probe commits.
    @Test func failedProbeIsNotReadyUntilOneSucceeds() {
        var state = ReadinessState(probeIntervalMilliseconds: 100, writeTimeoutMilliseconds: 1_000, now: 0)
        #expect(state.check(now: 100).startProbe)
        state.probeFinished(failure: "disk I/O error", now: 150)
        var check = state.check(now: 200)
        #expect(check.verdict == .storageFailed("disk I/O error") && !check.startProbe)
        check = state.check(now: 250)
        #expect(check.startProbe)
        state.probeFinished(failure: nil, now: 260)
        #expect(state.check(now: 270).verdict == .ready)
    }

    /// A probe still waiting past the write timeout is "not ready" while it waits.
    @Test func stalledProbeIsNotReady() {
        var state = ReadinessState(probeIntervalMilliseconds: 100, writeTimeoutMilliseconds: 300, now: 0)
        #expect(state.check(now: 100).startProbe)
        #expect(state.check(now: 400).verdict == .ready)
        #expect(state.check(now: 401).verdict == .storageStalled(milliseconds: 301))
    }

    /// Draining wins over everything.
    @Test func drainingIsNotReady() {
        var state = ReadinessState(probeIntervalMilliseconds: 100, writeTimeoutMilliseconds: 300, now: 0)
        state.startDraining()
        #expect(state.check(now: 1).verdict == .draining)
    }
}

/// `/readyz` and `/healthz` against the real hub.
@Suite(.serialized) struct ReadinessTests {
    static func readyz(_ hub: TestHub) async throws -> APIClient.Answer {
        try await APIClient(port: hub.port).raw("GET", "/readyz")
    }

    /// While serving, `/readyz` is 200; after SIGTERM (shutdown) it is 503 `draining` for the drain period while
    /// requests are still served and `/healthz` stays 200.
    @Test func readyWhileServingNotReadyWhileDraining() async throws {
        // Long enough for the checks below on a loaded machine (the listener closes when the drain ends).
        try await TestHub.with(configure: { $0.hub.shutdownDrainMilliseconds = 5_000 }) { hub in
            let user = try await hub.customer("xena")
            let ready = try await Self.readyz(hub)
            #expect(ready.status == 200 && ready.reply["status"] == "ready")
            let shutdown = Task { await hub.server.shutdown() }
            var verdict = ready
            for _ in 0..<200 where verdict.status == 200 {
                try await Task.sleep(for: .milliseconds(10))
                verdict = try await Self.readyz(hub)
            }
            #expect(verdict.status == 503 && verdict.reply["status"] == "draining")
            #expect(try await APIClient(port: hub.port, token: user.token).call("accounts").status == 200)
            #expect(try await APIClient(port: hub.port).raw("GET", "/healthz").status == 200)
            await shutdown.value
        }
    }

    /// With the database locked by another process, the write probe cannot commit: `/readyz` turns 503 (the
    /// write stalls, then fails); once the lock is gone it is 200 again.
    @Test func notReadyWhileTheDatabaseCannotBeWritten() async throws {
        try await TestHub.with(configure: {
            $0.hub.readinessProbeIntervalMilliseconds = 100
            $0.hub.readinessWriteTimeoutMilliseconds = 500
        }) { hub in
            #expect(try await Self.readyz(hub).status == 200)
            let locker = try hub.database(write: true)
            // SQLite: the write lock; PostgreSQL: the probe's table.
            try locker.execute(TestDatabase.isPostgres ? "BEGIN; LOCK TABLE hub_probe" : "BEGIN IMMEDIATE")
            var verdict = try await Self.readyz(hub)
            for _ in 0..<400 where verdict.status == 200 {
                try await Task.sleep(for: .milliseconds(25))
                verdict = try await Self.readyz(hub)
            }
            #expect(verdict.status == 503)
            #expect(["storage_stalled", "storage_failed"].contains(verdict.reply["status"]?.stringValue ?? ""))
            try locker.execute("ROLLBACK")
            for _ in 0..<400 where verdict.status != 200 {
                try await Task.sleep(for: .milliseconds(25))
                verdict = try await Self.readyz(hub)
            }
            #expect(verdict.status == 200 && verdict.reply["status"] == "ready")
        }
    }
}
