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
    @Option(help: ArgumentHelp("""
        A running hub to target (ws://HOST:PORT/ws); repeat it for several hubs of one bank (each scenario says \
        how it spreads its connections over them). By default a hub is started for the run.
        """, valueName: "url"))
    var url: [String] = []

    @Option(help: "With one --url: that hub's SQLite file, to check the stored ledger at the end.")
    var db: String?

    @Option(help: ArgumentHelp("""
        With --url: the hubs' PostgreSQL database (postgresql://USER@HOST:PORT/DB), to check the stored ledger \
        at the end (postings, balances, gapless streams).
        """, valueName: "url"))
    var database: String?

    @Option(help: ArgumentHelp("""
        With --url: the hub's process id on this machine, to report its CPU time (from /proc/PID/stat) and \
        memory; repeat it in the order of --url (CPU is then summed over the hubs).
        """, valueName: "pid"))
    var hubPid: [Int32] = []

    @Flag(help: """
        Run the hub in this process instead of a `bankhub serve` child (its CPU time and memory then include \
        the load generator's).
        """)
    var inProcess = false

    @Flag(help: "Print one JSON object on the last line.")
    var json = false

    func validate() throws {
        if url.isEmpty, db != nil || database != nil || !hubPid.isEmpty {
            throw ValidationError("--db, --database and --hub-pid describe the hubs given by --url")
        }
        if !url.isEmpty, inProcess { throw ValidationError("--in-process starts a hub; --url targets a running one: pick one") }
        if db != nil, url.count > 1 || database != nil {
            throw ValidationError("--db is one SQLite hub's file: several hubs of one bank share a --database")
        }
        if !hubPid.isEmpty, hubPid.count != url.count {
            throw ValidationError("--hub-pid: give one per --url, in the same order (\(hubPid.count) for \(url.count) hubs)")
        }
        for pid in hubPid where !(pid > 0 && ProcessCPU.seconds(of: pid) != nil) {
            throw ValidationError("--hub-pid \(pid): no such process whose CPU time this user can read")
        }
    }
}
