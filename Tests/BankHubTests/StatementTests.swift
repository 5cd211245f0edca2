import BankCore
@testable import BankHub
@testable import BankStorage
@testable import BankStore
import BankWire
import Foundation
import Testing

/// The `statement` op against the real hub (a month's opening, closing, money in and out, entries oldest
/// first, paged), its refusals, and the CSV renderer checked by Python's csv module.
@Suite(.serialized) struct StatementTests {
    static var thisMonth: JSONValue { .string(CalendarMonth(containing: Clock.now()).description) }

    /// This month's statement: opening 0, every entry oldest first with signed amounts and balances, the
    /// totals adding up; the payee's statement shows the money in and who sent it.
    @Test func summarisesTheCurrentMonth() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob", deposit: nil)
            let sent = try await alice.client.ok("transfer", ["from": .string(alice.account), "to": .string(bob.account),
                                                              "amount": "25.50", "note": "rent, \"March\""])
            _ = try await alice.client.ok("withdraw", ["account": .string(alice.account), "amount": "4.50"])
            let statement = try await alice.client.ok("statement", ["account": .string(alice.account), "month": Self.thisMonth])
            #expect(statement["account"]?.stringValue == alice.account && statement["month"] == Self.thisMonth)
            #expect(statement["opening"] == "0.00" && statement["closing"] == "70.00")
            #expect(statement["credits"] == "100.00" && statement["debits"] == "30.00" && statement["count"] == 3)
            #expect(statement["next"] == nil)
            let entries = statement["entries"]?.arrayValue ?? []
            #expect(entries.map { $0["kind"]?.stringValue ?? "" } == ["deposit", "transfer", "withdrawal"])
            #expect(entries.map { $0["amount"]?.stringValue ?? "" } == ["100.00", "-25.50", "-4.50"])
            #expect(entries.map { $0["balance_after"]?.stringValue ?? "" } == ["100.00", "74.50", "70.00"])
            #expect(entries[1]["txn"] == sent["txn"]?["id"] && entries[1]["counterparty"]?.stringValue == bob.account)
            #expect(entries[1]["note"] == "rent, \"March\"")

            let received = try await bob.client.ok("statement", ["account": .string(bob.account), "month": Self.thisMonth])
            #expect(received["credits"] == "25.50" && received["debits"] == "0.00" && received["closing"] == "25.50")
            #expect(received["entries"]?.arrayValue?.first?["counterparty"]?.stringValue == alice.account)
        }
    }

    /// Months meet exactly: last month's closing is this month's opening; a month without activity has equal
    /// opening and closing and no entries.
    @Test(.disabled(if: TestDatabase.isPair, "backdates through the lone ledger (the shared ledger commits at the database's time)"))
    func consecutiveMonthsMeet() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice", deposit: nil)
            let bob = try await hub.customer("bob", deposit: nil)
            let account = AccountID(Int64(alice.account)!)
            _ = try await hub.backdated(.deposit(account: account, amount: Money(cents: 20_000)), by: alice.userID,
                                        at: TestHub.inLastMonth(3_600_000))
            _ = try await hub.backdated(.transfer(from: account, to: AccountID(Int64(bob.account)!), amount: Money(cents: 5_000)),
                                        by: alice.userID, note: "gift", at: TestHub.inLastMonth(2 * 86_400_000))
            _ = try await alice.client.ok("deposit", ["account": .string(alice.account), "amount": "10.00"])
            let last = try await alice.client.ok("statement", ["account": .string(alice.account),
                                                               "month": .string(TestHub.lastMonth.description)])
            #expect(last["opening"] == "0.00" && last["credits"] == "200.00" && last["debits"] == "50.00")
            #expect(last["closing"] == "150.00" && last["count"] == 2)
            let current = try await alice.client.ok("statement", ["account": .string(alice.account), "month": Self.thisMonth])
            #expect(current["opening"] == last["closing"] && current["closing"] == "160.00" && current["count"] == 1)
            let before = try #require(TestHub.lastMonth.previous)
            let quiet = try await alice.client.ok("statement", ["account": .string(alice.account), "month": .string(before.description)])
            #expect(quiet["opening"] == "0.00" && quiet["closing"] == "0.00" && quiet["entries"]?.arrayValue?.isEmpty == true)
        }
    }

    /// A long month comes in pages of `limit` entries: `next` is the cursor for `after`; every page carries
    /// the whole month's totals.
    @Test func pagesLongMonths() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            for _ in 0..<4 { _ = try await alice.client.ok("withdraw", ["account": .string(alice.account), "amount": "1.00"]) }
            let account: JSONValue = .string(alice.account)
            let first = try await alice.client.ok("statement", ["account": account, "month": Self.thisMonth, "limit": 3])
            let cursor = try #require(first["next"])
            let second = try await alice.client.ok("statement", ["account": account, "month": Self.thisMonth, "limit": 3,
                                                                 "after": cursor])
            #expect(second["next"] == nil)
            let balances = (first["entries"]?.arrayValue ?? []) + (second["entries"]?.arrayValue ?? [])
            #expect(balances.map { $0["balance_after"]?.stringValue ?? "" } == ["100.00", "99.00", "98.00", "97.00", "96.00"])
            #expect(first["count"] == 5 && second["count"] == 5 && second["closing"] == "96.00")
        }
    }

    /// Bad months, months not yet begun, missing arguments, bad limits and other customers' accounts are
    /// refused; an admin reads any account's statement, an employee does not.
    @Test func refusesBadRequests() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob")
            let account: JSONValue = .string(alice.account)
            let next = CalendarMonth(containing: Clock.now()).next!.description
            for month: JSONValue in ["2026-13", "2026-1", "26-11", "", "1969-12", .number("202611"), .string(next), "9999-12"] {
                let reply = try await alice.client.request("statement", ["account": account, "month": month])
                #expect(reply["error"]?["code"] == "bad_request" && reply["error"]?["field"] == "month", "\(month)")
            }
            #expect(try await alice.client.errorCode("statement", ["account": account]) == "bad_request")
            #expect(try await alice.client.errorCode("statement", ["month": Self.thisMonth]) == "bad_request")
            for limit: JSONValue in [0, 1_001, "10"] {
                #expect(try await alice.client.errorCode("statement", ["account": account, "month": Self.thisMonth,
                                                                       "limit": limit]) == "bad_request")
            }
            #expect(try await bob.client.errorCode("statement", ["account": account, "month": Self.thisMonth]) == "not_found")
            #expect(try await alice.client.errorCode("statement", ["account": "999999", "month": Self.thisMonth]) == "not_found")
            let employee = try await hub.staff("erin", role: .employee)
            #expect(try await employee.client.errorCode("statement", ["account": account, "month": Self.thisMonth]) == "not_found")
            let admin = try await hub.staff("adam", role: .admin)
            #expect(try await admin.client.ok("statement", ["account": account, "month": Self.thisMonth])["closing"] == "100.00")
        }
    }

    /// The CSV download the HTTP route serves: the owner's month as RFC 4180 text; someone else's account is
    /// `not_found` and a bad month `bad_request`, as with the op.
    @Test func downloadsTheMonthAsCSV() async throws {
        try await TestHub.with { hub in
            let alice = try await hub.customer("alice")
            let bob = try await hub.customer("bob", deposit: nil)
            _ = try await alice.client.ok("transfer", ["from": .string(alice.account), "to": .string(bob.account),
                                                       "amount": "25.50", "note": "rent, \"March\""])
            let connection = try hub.database()
            let owner = try #require(try UserRecords.user(connection, username: "alice"))
            let stranger = try #require(try UserRecords.user(connection, username: "bob"))
            let account = AccountID(Int64(alice.account)!)
            let month = CalendarMonth(containing: Clock.now()).description
            let csv = try await hub.server.hub.statementCSV(account: account, month: month, for: owner)
            let lines = csv.components(separatedBy: "\r\n")
            #expect(lines.count == 4 && lines[0] == "date,txn,kind,description,amount,balance" && lines[3].isEmpty)
            #expect(lines[1].hasSuffix(",1,deposit,Deposit,100.00,100.00"))
            #expect(lines[2].hasSuffix(",2,transfer,\"Transfer to account \(bob.account): rent, \"\"March\"\"\",-25.50,74.50"))
            await #expect(throws: BankError.notFound("no account \(account)")) {
                try await hub.server.hub.statementCSV(account: account, month: month, for: stranger)
            }
            await #expect(throws: BankError.self) {
                try await hub.server.hub.statementCSV(account: account, month: "2026-13", for: owner)
            }
        }
    }

    // MARK: CSV

    static func entry(_ txn: Int64, _ kind: TransactionKind, cents: Int64, balance: Int64, note: String?,
                      counterparty: Int64? = nil, at: String = "2026-11-25T19:01:00.123Z") -> HistoryEntry {
        HistoryEntry(cursor: txn, transaction: TransactionID(txn), kind: kind, amount: Money(cents: cents),
                     balanceAfter: Money(cents: balance), at: Timestamp.parse(rfc3339: at)!, note: note,
                     counterparty: counterparty.map(AccountID.init))
    }

    /// The header and one CRLF-terminated line per entry; signed amounts and balances with two decimals;
    /// fields with commas, quotes or line breaks quoted with quotes doubled.
    @Test func rendersRFC4180() {
        let csv = StatementCSV.render([
            Self.entry(1, .deposit, cents: 10_000, balance: 10_000, note: nil),
            Self.entry(2, .transfer, cents: -2_550, balance: 7_450, note: "rent, \"March\"", counterparty: 1002),
            Self.entry(3, .transfer, cents: 5, balance: 7_455, note: "two\nlines", counterparty: 1003),
            Self.entry(4, .withdrawal, cents: -7_455, balance: 0, note: "=HYPERLINK(\"http://evil\")"),
        ])
        #expect(csv == "date,txn,kind,description,amount,balance\r\n"
                + "2026-11-25T19:01:00.123Z,1,deposit,Deposit,100.00,100.00\r\n"
                + "2026-11-25T19:01:00.123Z,2,transfer,\"Transfer to account 1002: rent, \"\"March\"\"\",-25.50,74.50\r\n"
                + "2026-11-25T19:01:00.123Z,3,transfer,\"Transfer from account 1003: two\nlines\",0.05,74.55\r\n"
                + "2026-11-25T19:01:00.123Z,4,withdrawal,\"Withdrawal: =HYPERLINK(\"\"http://evil\"\")\",-74.55,0.00\r\n")
        #expect(StatementCSV.render([]) == "date,txn,kind,description,amount,balance\r\n")
    }

    /// Python's csv module (an independent RFC 4180 reader) reads back exactly the fields, and no cell starts
    /// with a formula character.
    @Test func pythonReadsTheFieldsBack() throws {
        let notes = ["plain", "comma, inside", "quote \" inside", "line\r\nbreak", "=1+2", "@SUM(A1)", "+1", "-1", "ünïcødé €"]
        let entries = notes.enumerated().map { index, note in
            Self.entry(Int64(index + 1), .deposit, cents: Int64(index + 1), balance: Int64((index + 1) * 10), note: note)
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("statement-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(StatementCSV.render(entries).utf8).write(to: file)
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", "import csv, json, sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))))", file.path]
        let output = Pipe()
        python.standardOutput = output
        try python.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        python.waitUntilExit()
        let rows = try JSONParser.parse(String(decoding: data, as: UTF8.self)).arrayValue ?? []
        try #require(rows.count == notes.count + 1)
        #expect(rows[0] == ["date", "txn", "kind", "description", "amount", "balance"])
        for (index, note) in notes.enumerated() {
            let row = rows[index + 1].arrayValue ?? []
            #expect(row.count == 6)
            #expect(row[3].stringValue == "Deposit: \(note)")
            #expect(row[4].stringValue == Money(cents: Int64(index + 1)).description)
            for cell in row { #expect(!"=+-@".contains(cell.stringValue?.first ?? " ") || cell == row[4]) }
        }
    }
}
