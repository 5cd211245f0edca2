import BankCore
import BankStorage
import BankStore
import BankWire
import Testing

/// Staff users for tests. There is no protocol op that makes the first employee or admin (that is the CLI's
/// job), so the helper signs up over the protocol, sets the role in the SQLite file through a second
/// connection (WAL lets it write beside the hub's writer; the busy timeout covers a commit in progress), and
/// then logs in, so the session carries the new role.
extension TestHub {
    func staff(_ name: String, role: Role) async throws -> Customer {
        let client = try await client()
        let password: JSONValue = "correct horse battery"
        _ = try await client.ok("signup", ["username": .string(name), "password": password])
        try setRole(role, of: name)
        let login = try await client.ok("login", ["username": .string(name), "password": password])
        #expect(login["user"]?["role"]?.stringValue == role.rawValue)
        return Customer(client: client, token: login["token"]?.stringValue ?? "", account: "",
                        userID: login["user"]?["id"]?.stringValue ?? "")
    }

    /// Sets a user's role directly in the database file.
    func setRole(_ role: Role, of username: String) throws {
        let connection = try database(write: true)
        try connection.prepare("UPDATE users SET role = ? WHERE username = ?").run(role.rawValue, username)
        #expect(connection.changes == 1, "no user \(username) to make \(role.rawValue)")
    }
}

extension HubClient {
    /// The `request` object of a request op that must succeed.
    func serviceRequest(_ op: String, _ args: JSONValue) async throws -> JSONValue {
        try #require(try await ok(op, args)["request"])
    }

    /// Events until one of `kind` arrives (others, such as balance events, are skipped).
    func nextEvent(kind: String, timeout: Duration = .seconds(5)) async throws -> JSONValue {
        while true {
            let event = try await nextEvent(timeout: timeout)
            if event["event"]?.stringValue == kind { return event }
        }
    }
}
