import Glibc

/// When the listener is left unpolled after accept(2) ran out of a resource, and for how long.
///
/// EMFILE, ENFILE, ENOBUFS and ENOMEM leave the connection in the kernel's backlog, so the listening socket
/// stays readable: polled on, it would wake the service thread at once, forever, starving every connection.
/// Instead the listener is paused for ``acceptBackoffMilliseconds``, doubling up to
/// ``acceptBackoffMillisecondsMax`` while accepts keep failing, back to the start after one succeeds.
/// Pure: the service thread passes the time in, so tests drive it with made-up instants.
struct AcceptBackoff {
    /// The first pause after a resource failure: long enough for connections to close and free descriptors,
    /// short enough that a burst that merely touched the limit costs clients little.
    static let acceptBackoffMilliseconds = 100
    /// The longest pause: a hub out of descriptors for minutes still retries every second.
    static let acceptBackoffMillisecondsMax = 1_000

    /// Until when the listener is unpolled; nil while it is polled.
    private(set) var pausedUntil: ContinuousClock.Instant?
    /// The pause the next failure starts.
    private(set) var nextPauseMilliseconds = Self.acceptBackoffMilliseconds
    /// True from the first failure until an accept succeeds: one episode, one log line, one count.
    private(set) var inEpisode = false

    var isPaused: Bool { pausedUntil != nil }

    /// The accept errors that mean "out of a resource, the connection is still waiting" (see the type).
    static func exhaustsResources(_ error: Int32) -> Bool {
        error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM
    }

    /// An accept failed for lack of a resource at `now`: the listener pauses for the returned milliseconds.
    /// `episodeStarted` is true for the first failure since the last successful accept.
    mutating func failed(at now: ContinuousClock.Instant) -> (pauseMilliseconds: Int, episodeStarted: Bool) {
        precondition(pausedUntil == nil, "an accept failed while the listener was paused")
        let pause = nextPauseMilliseconds
        let episodeStarted = !inEpisode
        inEpisode = true
        pausedUntil = now + .milliseconds(pause)
        nextPauseMilliseconds = min(pause * 2, Self.acceptBackoffMillisecondsMax)
        precondition((Self.acceptBackoffMilliseconds...Self.acceptBackoffMillisecondsMax).contains(pause),
                     "pause out of its bounds")
        return (pause, episodeStarted)
    }

    /// True once when the pause is over at `now` (the caller then polls the listener again). The episode
    /// goes on: a failure right after the resume pauses twice as long.
    mutating func resumeIfDue(at now: ContinuousClock.Instant) -> Bool {
        guard let pausedUntil, now >= pausedUntil else { return false }
        self.pausedUntil = nil
        return true
    }

    /// An accept returned a connection: the episode is over and the next failure starts from the shortest pause.
    mutating func succeeded() {
        precondition(pausedUntil == nil, "an accept succeeded while the listener was paused")
        inEpisode = false
        nextPauseMilliseconds = Self.acceptBackoffMilliseconds
    }
}
