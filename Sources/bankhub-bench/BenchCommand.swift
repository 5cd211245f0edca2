import ArgumentParser

/// `bankhub-bench SCENARIO`: load generators that measure a hub and check it stayed correct. An executable of its
/// own, so the server binary carries none of it.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bankhub-bench",
        abstract: "Measure a hub: transfers/s, push latency, connections held, reconnect storms.",
        discussion: """
            By default each scenario starts its own hub as a `bankhub serve` child process on a temporary
            database (new password hashes use 1,000 PBKDF2 iterations so setting up thousands of users is quick;
            rate limits off), so the hub's CPU time and memory are measured apart from the load generator's;
            --in-process runs it in this process instead, --url targets a running hub. Prints a table, and with
            --json one JSON object on the last line.
            """,
        subcommands: [TransfersScenario.self, FanoutScenario.self, ConnectionsScenario.self, ReconnectScenario.self,
                      PeerFanoutScenario.self, KeysScenario.self, LedgerPGScenario.self]
    )
}

/// Options every scenario takes.
struct BenchOptions: ParsableArguments {
    @Option(help: "A running hub to target (ws://HOST:PORT/ws); by default a hub is started for the run.")
    var url: String?

    @Option(help: "With --url: that hub's SQLite file, to check the stored ledger at the end.")
    var db: String?

    @Option(help: "With --url: that hub's process id on this machine, to report its CPU time (from /proc/PID/stat).")
    var hubPid: Int32?

    @Flag(help: """
        Run the hub in this process instead of a `bankhub serve` child (its CPU time and memory then include \
        the load generator's).
        """)
    var inProcess = false

    @Flag(help: "Print one JSON object on the last line.")
    var json = false

    func validate() throws {
        if url == nil, db != nil || hubPid != nil {
            throw ValidationError("--db and --hub-pid describe the hub given by --url")
        }
        if url != nil, inProcess { throw ValidationError("--in-process starts a hub; --url targets a running one: pick one") }
        if let hubPid, !(hubPid > 0 && ProcessCPU.seconds(of: hubPid) != nil) {
            throw ValidationError("--hub-pid \(hubPid): no such process whose CPU time this user can read")
        }
    }
}
