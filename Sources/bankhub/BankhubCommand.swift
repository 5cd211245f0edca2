import ArgumentParser

/// `bankhub`: the real-time banking hub.
@main
struct BankhubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bankhub",
        abstract: "A real-time banking hub: double-entry ledger on SQLite, live push over WebSockets.",
        subcommands: [ServeCommand.self, AdminCommand.self, BenchCommand.self, OutboxCommand.self, StatementsCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
