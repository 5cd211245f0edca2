import BankCore
import BankWire
import Foundation
import Testing

/// The `transactions` op's `kind` filter, for every kind the hub has, and for every kind the employee
/// console's "Kind" menu sends (web/index.html `#txs-kind`): each answers only transactions of that kind.
@Suite(.serialized) struct TransactionKindFilterTests {
    /// The values of the employee console's transaction-kind menu, read from web/index.html.
    static func consoleKinds() throws -> [String] {
        let html = try String(contentsOfFile: TestHub.webRoot + "/index.html", encoding: .utf8)
        let start = try #require(html.range(of: "<select id=\"txs-kind\""))
        let end = try #require(html.range(of: "</select>", range: start.upperBound..<html.endIndex))
        let menu = html[start.upperBound..<end.lowerBound]
        return menu.components(separatedBy: "<option value=\"").dropFirst().compactMap { option in
            let value = String(option.prefix { $0 != "\"" })
            return value.isEmpty ? nil : value
        }
    }

    @Test func everyKindFiltersTheJournal() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob", deposit: nil)
            _ = try await alice.client.ok("withdraw", ["account": .string(alice.account), "amount": "5.00"])
            _ = try await alice.client.ok("transfer", ["from": .string(alice.account), "to": .string(bob.account), "amount": "7.00"])
            let goal = try #require(try await alice.client.ok("goal_create", [
                "account": .string(alice.account), "name": "Bike", "target": "300.00"])["goal"]?["id"])
            _ = try await alice.client.ok("goal_fund", ["goal": goal, "amount": "3.00"])
            _ = try await alice.client.ok("goal_withdraw", ["goal": goal, "amount": "1.00"])
            let employee = try await hub.staff("erin", role: .employee)
            let console = try Self.consoleKinds()
            #expect(Set(console) == Set(TransactionKind.allCases.map(\.rawValue)), "the console offers every kind: \(console)")
            for kind in Set(console).union(TransactionKind.allCases.map(\.rawValue)).sorted() {
                let reply = try await employee.client.request("transactions", ["kind": .string(kind)])
                #expect(reply["ok"] == true, "kind \(kind): \(JSONWriter.string(reply))")
                let kinds = reply["result"]?["transactions"]?.arrayValue?.map { $0["kind"]?.stringValue ?? "" } ?? []
                #expect(kinds.count == 1 && kinds.allSatisfy { $0 == kind }, "kind \(kind): \(kinds)")
            }
            let unknown = try await employee.client.request("transactions", ["kind": "withdraw"])
            #expect(unknown["error"]?["code"] == "bad_request" && unknown["error"]?["field"] == "kind")
        }
    }
}
