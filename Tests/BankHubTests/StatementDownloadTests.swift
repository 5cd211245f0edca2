import BankCore
import BankStorage
import BankStore
import BankWire
import Testing

/// `GET /statements/ACCOUNT/YYYY-MM.csv` over real HTTP: the owner gets the month as the `statement` op and the
/// CSV renderer give it; no token is 401, another customer's account 404, a bad month 400.
@Suite(.serialized) struct StatementDownloadTests {
    @Test func servesTheMonthAsCSVWithTheStatementRules() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob", deposit: nil)
            _ = try await alice.client.ok("transfer", ["from": .string(alice.account), "to": .string(bob.account),
                                                       "amount": "25.50", "note": "rent, \"March\""])
            let month = CalendarMonth(containing: Clock.now()).description
            let path = "/statements/\(alice.account)/\(month).csv"
            let owner = APIClient(port: hub.port, token: alice.token)

            let answer = try await owner.raw("GET", path, headers: [("Authorization", "Bearer \(alice.token)")])
            #expect(answer.status == 200)
            #expect(answer.headers["content-type"] == "text/csv; charset=utf-8")
            let text = try #require(answer.reply.stringValue)
            let lines = text.components(separatedBy: "\r\n")
            #expect(lines.first == "date,txn,kind,description,amount,balance")
            // Line for line what the statement op lists for the month.
            let statement = try await alice.client.ok("statement", ["account": .string(alice.account), "month": .string(month)])
            let entries = statement["entries"]?.arrayValue ?? []
            #expect(lines.count == entries.count + 2 && lines.last == "")
            for (line, entry) in zip(lines.dropFirst(), entries) {
                #expect(line.hasSuffix(",\(entry["amount"]?.stringValue ?? "?"),\(entry["balance_after"]?.stringValue ?? "?")"), "\(line)")
            }

            #expect(try await APIClient(port: hub.port).raw("GET", path).status == 401)
            #expect(try await owner.raw("GET", path, headers: [("Authorization", "Bearer \(bob.token)")]).status == 404)
            let badMonth = try await owner.raw("GET", "/statements/\(alice.account)/2026-13.csv",
                                                headers: [("Authorization", "Bearer \(alice.token)")])
            #expect(badMonth.status == 400 && badMonth.code == "bad_request")
            let badPath = try await owner.raw("GET", "/statements/\(alice.account)",
                                               headers: [("Authorization", "Bearer \(alice.token)")])
            #expect(badPath.status == 400)
        }
    }
}
