import Glibc
import Testing
import WebSocketClient
@testable import WebSocketTransport

/// The pause rules of the listener after accept ran out of a resource, driven with made-up instants.
struct AcceptBackoffRulesTests {
    /// Pauses start at 100 ms and double to a cap of 1 s while accepts keep failing; one episode throughout.
    @Test func pausesDoubleToTheCapWhileFailuresContinue() {
        var backoff = AcceptBackoff()
        var now = ContinuousClock.now
        var pauses: [Int] = []
        var episodes = 0
        for _ in 0..<6 {
            let failure = backoff.failed(at: now)
            pauses.append(failure.pauseMilliseconds)
            if failure.episodeStarted { episodes += 1 }
            now += .milliseconds(failure.pauseMilliseconds)
            let resumed = backoff.resumeIfDue(at: now)
            #expect(resumed)
        }
        #expect(pauses == [100, 200, 400, 800, 1_000, 1_000])
        #expect(episodes == 1)
    }

    /// The listener stays paused until its pause is over, and resumes only once.
    @Test func resumesOnlyWhenThePauseIsOver() {
        var backoff = AcceptBackoff()
        let start = ContinuousClock.now
        _ = backoff.failed(at: start)
        #expect(backoff.isPaused)
        let early = backoff.resumeIfDue(at: start + .milliseconds(99))
        let due = backoff.resumeIfDue(at: start + .milliseconds(100))
        let again = backoff.resumeIfDue(at: start + .milliseconds(500))
        #expect(!early && due && !again)
        #expect(!backoff.isPaused)
    }

    /// One successful accept ends the episode: the next failure pauses 100 ms again and starts a new one.
    @Test func successResetsThePauseAndEndsTheEpisode() {
        var backoff = AcceptBackoff()
        var now = ContinuousClock.now
        for _ in 0..<3 {
            now += .milliseconds(backoff.failed(at: now).pauseMilliseconds)
            _ = backoff.resumeIfDue(at: now)
        }
        backoff.succeeded()
        let failure = backoff.failed(at: now)
        #expect(failure.pauseMilliseconds == 100 && failure.episodeStarted)
    }

    /// Only running out of descriptors or memory pauses; an aborted connection or an empty backlog does not.
    @Test func onlyResourceErrorsPause() {
        #expect([EMFILE, ENFILE, ENOBUFS, ENOMEM].allSatisfy(AcceptBackoff.exhaustsResources))
        #expect(![ECONNABORTED, EINTR, EAGAIN, EPROTO].contains(where: AcceptBackoff.exhaustsResources))
    }
}

/// A server (default options: the same listener serves `reusePort` ones) whose accepts fail with EMFILE (injected:
/// lowering RLIMIT_NOFILE would hit every test in the process) stops polling its listener instead of spinning,
/// keeps serving, and accepts again afterwards.
@Suite(.serialized) struct AcceptBackoffTests {
    /// While every accept fails, the listener is tried a handful of times in 300 ms or more (thousands
    /// without the back-off), an open connection keeps echoing, and a client waiting in the backlog is served once the
    /// failures stop; the whole episode is counted (and logged) once.
    @Test(arguments: [EventLoop.libev, .poll])
    func listenerPausesInsteadOfSpinningWhileAcceptFails(loop: EventLoop) async throws {
        let faults = AcceptFaultInjection()
        let harness = try EchoHarness { $0.eventLoop = loop; $0.acceptFaults = faults }
        defer { harness.stop() }
        let statistics = harness.server.statistics
        let established = try await harness.connect()
        try await established.send("before")
        #expect(try await established.receiveText() == "before")

        faults.arm(failures: 1_000_000, error: EMFILE)
        let attemptsBefore = faults.attempts
        let wakesBefore = statistics.listenerWakes
        let port = harness.port
        // Connects at once (the kernel completes it into the backlog) and waits for the answer as long as a
        // starved machine may take over the echoes below (they alone may take 5 × 5 s).
        let waiting = Task { try await HTTPProbe.get(port: port, path: "/healthz", receiveTimeoutSeconds: 60) }
        // Five echoes while accepts fail (counted, not timed: a loaded machine only makes them slower), over at
        // least 300 ms, long enough for thousands of listener wakes without the back-off.
        let start = ContinuousClock.now
        for echo in 0..<5 {
            try await established.send("during \(echo)")
            #expect(try await established.receiveText(timeout: .seconds(5)) == "during \(echo)")
            try await Task.sleep(for: .milliseconds(20))
        }
        let elapsed = ContinuousClock.now - start
        if elapsed < .milliseconds(300) { try await Task.sleep(for: .milliseconds(300) - elapsed) }
        let attempts = faults.attempts - attemptsBefore
        let wakes = statistics.listenerWakes - wakesBefore
        #expect(attempts >= 1 && attempts < 20, "accept attempts in 300 ms of EMFILE: \(attempts)")
        #expect(wakes < 20, "listener wakes in 300 ms of EMFILE: \(wakes)")
        #expect(statistics.acceptBackoffs == 1)
        #expect(statistics.acceptResourceFailures >= 1)

        faults.disarm()
        let answer = try await waiting.value
        #expect(answer.status == 200)
        let fresh = try await harness.connect()
        try await fresh.send("after")
        #expect(try await fresh.receiveText() == "after")
        #expect(statistics.acceptBackoffs == 1)
        fresh.close()
        established.close()
    }

    /// After an accept succeeded, a new run of failures is a new episode, paused from 100 ms again.
    @Test func failuresAfterARecoveryStartANewEpisode() async throws {
        let faults = AcceptFaultInjection()
        let harness = try EchoHarness { $0.acceptFaults = faults }
        defer { harness.stop() }
        for round in 1...2 {
            faults.arm(failures: 1, error: ENFILE)
            let answer = try await HTTPProbe.get(port: harness.port, path: "/healthz")
            #expect(answer.status == 200)
            #expect(harness.server.statistics.acceptBackoffs == round)
        }
        #expect(harness.server.statistics.acceptResourceFailures == 2)
    }
}
