import ArgumentParser
import BankCore
import BankCrypto
import BankStorage
import BankStore
import Foundation

/// `bankhub admin create`: the first admin comes from the command line, never from the network.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "admin", abstract: "Manage staff users.",
                                                    subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an admin (or employee) user. The password comes from BANKHUB_ADMIN_PASSWORD or stdin, never from an argument.")

        @Option(help: "SQLite database file (created if missing; SQLite only, not a hub on PostgreSQL).") var db = "./data/bankhub.sqlite"
        @Option(help: "Username of the new user.") var username: String
        @Option(help: "Role: admin or employee.") var role = "admin"
        @Option(help: "PBKDF2-HMAC-SHA256 iterations for the password hash.") var passwordIterations = PasswordHasher.defaultIterations

        func run() async throws {
            guard let role = Role(rawValue: role), role != .customer else {
                throw ValidationError("--role must be admin or employee")
            }
            let name = try UserInputRules.username(username)
            let password = try Self.password()
            try UserInputRules.password(password)
            let directory = URL(fileURLWithPath: db).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let writer = try DatabaseWriter(path: db)
            defer { writer.close() }
            let hash = PasswordHasher(iterations: passwordIterations).hash(password: password)
            let user = try await writer.write { db in
                try UserRecords.insert(db, .init(username: name, passwordHash: hash, role: role, email: nil, phone: nil,
                                                 fullName: nil, at: Clock.now()))
            }
            Console.line("created \(user.role.rawValue) \(user.username) (user \(user.id))")
        }

        private static func password() throws -> String {
            if let fromEnvironment = ProcessInfo.processInfo.environment["BANKHUB_ADMIN_PASSWORD"], !fromEnvironment.isEmpty {
                return fromEnvironment
            }
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw ValidationError("give the password in BANKHUB_ADMIN_PASSWORD or on stdin")
            }
            return line
        }
    }
}
