import ArgumentParser
import BankHub
import Foundation

/// `bankhub`: the real-time banking hub.
@main
struct BankhubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bankhub",
        abstract: "A real-time banking hub: double-entry ledger on SQLite, live push over WebSockets.",
        version: HubServer.version,
        subcommands: [ServeCommand.self, AdminCommand.self, OutboxCommand.self, StatementsCommand.self,
                      EchoServerCommand.self, MigrateCommand.self],
        defaultSubcommand: ServeCommand.self
    )

    /// Parses the command line, with `serve`'s options also taken from `BANKHUB_*` environment variables
    /// (see `EnvironmentOptions`), and runs the command.
    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        do {
            if servesHub(arguments) {
                let options = EnvironmentOptions.options(inHelp: helpMessage(for: ServeCommand.self, columns: 10_000))
                if arguments.contains("--help") || arguments.contains("-h") {
                    print(EnvironmentOptions.annotatedHelp(helpMessage(for: ServeCommand.self, columns: 10_000), options: options))
                    return
                }
                arguments += try EnvironmentOptions.arguments(
                    for: options, environment: ProcessInfo.processInfo.environment, given: arguments)
            }
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// Whether these arguments run `serve` (named, or as the default subcommand).
    private static func servesHub(_ arguments: [String]) -> Bool {
        guard let first = arguments.first else { return true }
        if first == "serve" { return true }
        let others = configuration.subcommands.map { $0._commandName }
        let rootFlags: Set<String> = ["--version", "--help", "-h", "help"]
        return !others.contains(first) && !rootFlags.contains(first) && first.hasPrefix("-")
    }
}
