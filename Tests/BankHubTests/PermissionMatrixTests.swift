import BankCore
import BankWire
import Testing

/// Every op, tried as nobody, as a customer, an employee and an admin against the real hub: the answer is
/// `unauthorized` or `forbidden` exactly where the permission table says so, and never for an allowed call.
@Suite(.serialized) struct PermissionMatrixTests {
    @Test func everyOpAnswersAsThePermissionTableSays() async throws {
        // Some 400 requests: on a loaded machine (the pair run above all) past the 30 s an anonymous connection
        // may stay, which would close `anonymous` under the test.
        try await TestHub.with(configure: { $0.hub.anonymousConnectionMillisecondsMax = 600_000 }) { hub in
            let anonymous = try await hub.client()
            let customer = try await hub.customer("carol")
            let employee = try await hub.staff("erin", role: .employee)
            let admin = try await hub.staff("adam", role: .admin)
            let callers: [(Role?, HubClient)] = [(nil, anonymous), (.customer, customer.client),
                                                 (.employee, employee.client), (.admin, admin.client)]
            // Ops that end a session go last so that the others run logged in.
            let ops = Op.allCases.filter { $0 != .logout } + [.logout]
            for op in ops {
                for (role, client) in callers {
                    let code = try await client.request(op.rawValue, [:])["error"]?["code"]?.stringValue
                    let expected: String? = switch (op.access, role) {
                    case (.anyone, _): nil
                    case (_, nil): "unauthorized"
                    case (let access, let role?): access.allows(role) ? nil : "forbidden"
                    }
                    if let expected {
                        #expect(code == expected, "\(op) as \(role?.rawValue ?? "nobody")")
                    } else {
                        #expect(code != "unauthorized" && code != "forbidden" || (op.needsStepUp && code == "forbidden"),
                                "\(op) as \(role?.rawValue ?? "nobody") answered \(code ?? "ok")")
                    }
                }
            }
        }
    }

    /// A state-changing admin op without the admin key is `forbidden`; with it, it runs.
    @Test func adminChangesNeedTheAdminKey() async throws {
        try await TestHub.with { hub in
            let admin = try await hub.staff("adam", role: .admin)
            let customer = try await hub.customer("carol")
            let target: JSONValue = .string(customer.userID)
            let without = try await admin.client.request("lock_user", ["user": target])
            #expect(without["error"]?["code"] == "forbidden")
            let wrong = try await admin.client.request("lock_user", ["user": target, "admin_key": "guess"])
            #expect(wrong["error"]?["code"] == "forbidden")
            let locked = try await admin.client.ok("lock_user", ["user": target, "admin_key": .string(TestHub.adminKey)])
            #expect(locked["user"]?["status"] == "locked")
        }
    }
}
