import ArgumentParser

/// `bankhub-bench SCENARIO`: load generators that measure a hub and check it stayed correct. An executable of its
/// own, so the server binary carries none of it.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bankhub-bench",
        abstract: "Measure a hub: transfers/s, push latency, connections held, reconnect storms.",
        discussion: """
            By default each scenario starts its own hub in this process on a temporary database (new password
            hashes use 1,000 PBKDF2 iterations so setting up thousands of users is quick); --url targets a
            running hub instead. Prints a table, and with --json one JSON object on the last line.
            """,
        subcommands: [TransfersScenario.self, FanoutScenario.self, ConnectionsScenario.self, ReconnectScenario.self,
                      PeerFanoutScenario.self, KeysScenario.self]
    )
}

/// Options every scenario takes.
struct BenchOptions: ParsableArguments {
    @Option(help: "A running hub to target (ws://HOST:PORT/ws); by default a hub is started for the run.")
    var url: String?

    @Option(help: "With --url: that hub's SQLite file, to check the stored ledger at the end.")
    var db: String?

    @Flag(help: "Print one JSON object on the last line.")
    var json = false
}
