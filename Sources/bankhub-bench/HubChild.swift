import Dispatch
import Foundation
import Glibc
import Synchronization

/// A `bankhub serve` child process on a temporary database: the hub every scenario measures by default, so its
/// CPU time and memory are its own and not the load generator's.
///
/// No hub outlives its benchmark: `stop` ends it at the end of a run, and while one runs SIGINT, SIGTERM and
/// SIGHUP sent to this process (Ctrl-C, a script's clean-up, `timeout`) stop it and remove its files before
/// this process exits. Only SIGKILL of this process leaves it running.
enum HubChild {
    /// How long a hub has to exit after SIGTERM (its own shutdown grace is 5 s) before it gets SIGKILL.
    static let stopGraceMilliseconds = 15_000
    /// How long `bankhub serve` has to print its "listening" line.
    static let startMillisecondsMax = 20_000

    struct Started: Sendable {
        let processID: Int32
        let port: Int
    }

    /// Runs `bankhub serve` (the `bankhub` executable next to this one) with the benchmark settings of
    /// ``BenchTarget`` and waits for its "listening" line.
    static func start(directory: URL, databasePath: String) async throws -> Started {
        let executable = try executablePath()
        let output = directory.appendingPathComponent("serve.log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0", "--db", databasePath,
                             "--web", directory.path, "--password-iterations", "1000", "--log-level", "warning",
                             "--no-rate-limits", "--burst-transfers", String(BenchTarget.burstTransfersPerMinute),
                             "--connections-max", String(BenchTarget.childConnectionsMax),
                             "--connections-per-address-max", String(BenchTarget.childConnectionsMax)]
        let log = try FileHandle(forWritingTo: output)
        process.standardOutput = log
        process.standardError = log
        SignalGuard.installOnce()
        try process.run()
        let pid = process.processIdentifier
        SignalGuard.watch(pid, directory: directory)
        for _ in 0..<(startMillisecondsMax / 20) {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            if let range = text.range(of: "://127.0.0.1:") {
                let port = Int(text[range.upperBound...].prefix { $0.isNumber }) ?? 0
                Progress.line("hub: bankhub serve, pid \(pid), port \(port), database \(databasePath)")
                return Started(processID: pid, port: port)
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        stop(pid)
        throw BenchError("bankhub serve did not start: " + ((try? String(contentsOf: output, encoding: .utf8)) ?? ""))
    }

    /// Sends SIGTERM, waits for the hub to exit (SIGKILL after ``stopGraceMilliseconds``) and reaps it.
    /// Blocking, so it also works from a `defer` and from the signal handler; idempotent.
    static func stop(_ pid: Int32) {
        precondition(pid > 0, "a child's process id")
        guard SignalGuard.forget(pid) else { return }
        kill(pid, SIGTERM)
        var waitedMilliseconds = 0
        while kill(pid, 0) == 0 {
            var status: Int32 = 0
            // Foundation's Process may reap the child first; either way kill(pid, 0) then fails.
            if waitpid(pid, &status, WNOHANG) == pid { break }
            if waitedMilliseconds == stopGraceMilliseconds { kill(pid, SIGKILL) }
            usleep(10_000)
            waitedMilliseconds += 10
        }
    }

    /// `bankhub` in this executable's folder: the two are built together (`swift build` builds both).
    private static func executablePath() throws -> String {
        let own = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let path = URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent("bankhub").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw BenchError("no bankhub executable at \(path): build it (swift build --product bankhub, with the "
                             + "same -c as bankhub-bench) or pass --in-process")
        }
        return path
    }
}

/// Stops the running child hubs and removes their files when this process is told to end
/// (SIGINT, SIGTERM, SIGHUP), then exits with 128 + the signal number, as a shell would report it.
private enum SignalGuard {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    /// Child process id → its temporary folder.
    private static let children = Mutex<[Int32: URL]>([:])
    /// The dispatch sources, kept alive for the life of the process.
    private static let sources = Mutex<[any DispatchSourceSignal]>([])

    static func installOnce() {
        sources.withLock { sources in
            guard sources.isEmpty else { return }
            for number in signals {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { stopAllAndExit(number) }
                source.resume()
                sources.append(source)
            }
        }
    }

    static func watch(_ pid: Int32, directory: URL) {
        children.withLock { $0[pid] = directory }
    }

    /// True when `pid` was still watched (so its stop is due now).
    static func forget(_ pid: Int32) -> Bool {
        children.withLock { $0.removeValue(forKey: pid) != nil }
    }

    private static func stopAllAndExit(_ number: Int32) -> Never {
        let running = children.withLock { $0 }
        for (pid, directory) in running {
            HubChild.stop(pid)
            try? FileManager.default.removeItem(at: directory)
        }
        Progress.line("stopped by signal \(number)" + (running.isEmpty ? "" : "; the hub child was stopped and its files removed"))
        exit(128 + number)
    }
}
