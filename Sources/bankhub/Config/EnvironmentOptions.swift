import ArgumentParser
import Foundation

/// Every `serve` option can also come from an environment variable named after it: `--log-level` ↔
/// `BANKHUB_LOG_LEVEL`, `--port` ↔ `BANKHUB_PORT`. A flag on the command line wins over the variable. Flags
/// (`--demo`) take `1`/`true`/`yes` or `0`/`false`/`no`; repeatable options (`--allowed-origin`) take a
/// comma-separated list. The options are read from the command's own help, so a new option gets its variable
/// without being listed anywhere else.
enum EnvironmentOptions {
    static let prefix = "BANKHUB_"

    struct Option: Equatable {
        /// The long name without dashes: `log-level`.
        let name: String
        let takesValue: Bool
        let repeatable: Bool

        var variable: String { EnvironmentOptions.variable(for: name) }
    }

    static func variable(for name: String) -> String {
        prefix + name.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// The long options of a command, from its help text rendered without wrapping.
    static func options(inHelp help: String) -> [Option] {
        var found: [Option] = []
        for line in help.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = words.first else { continue }
            // "-h, --help" lines start with a short flag; options here are long only.
            guard first.hasPrefix("--"), line.hasPrefix("  ") else { continue }
            let name = String(first.dropFirst(2))
            guard name != "help", name != "version" else { continue }
            let takesValue = words.count > 1 && words[1].hasPrefix("<")
            // Array options say so in their help: "(repeatable)".
            let repeatable = takesValue && line.contains("(repeatable")
            found.append(Option(name: name, takesValue: takesValue, repeatable: repeatable))
        }
        return found
    }

    /// The arguments to add for the variables set in `environment` whose option is not already in `given`.
    static func arguments(for options: [Option], environment: [String: String],
                          given: [String]) throws -> [String] {
        var added: [String] = []
        for option in options {
            guard let value = environment[option.variable] else { continue }
            let flag = "--" + option.name
            guard !given.contains(where: { $0 == flag || $0.hasPrefix(flag + "=") }) else { continue }
            if !option.takesValue {
                switch value.lowercased() {
                case "1", "true", "yes": added.append(flag)
                case "0", "false", "no", "": break
                default: throw ValidationError("\(option.variable)=\(value): use 1 or 0 (true or false)")
                }
            } else if option.repeatable {
                for item in value.split(separator: ",") { added += [flag, item.trimmingCharacters(in: .whitespaces)] }
            } else {
                added += [flag, value]
            }
        }
        return added
    }

    /// The help text (rendered without wrapping) with each option's variable after its syntax, the
    /// description on the next line: `--port <port> [env: BANKHUB_PORT]`.
    static func annotatedHelp(_ help: String, options: [Option]) -> String {
        let byName = Dictionary(uniqueKeysWithValues: options.map { ($0.name, $0) })
        return help.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let words = line.split(separator: " ")
            guard line.hasPrefix("  --"), let option = byName[String(words[0].dropFirst(2))] else { return String(line) }
            let syntaxWords = option.takesValue ? 2 : 1
            let syntax = words.prefix(syntaxWords).joined(separator: " ")
            let description = words.dropFirst(syntaxWords).joined(separator: " ")
            return "  \(syntax) [env: \(option.variable)]" + (description.isEmpty ? "" : "\n" + String(repeating: " ", count: 26) + description)
        }.joined(separator: "\n")
    }
}
