import BankWire
import Foundation
import WebSocketClient

/// A customer the benchmark created over the protocol.
struct BenchCustomer: Sendable {
    let username: String
    let token: String
    let accounts: [Int64]
}

/// Creates the customers, accounts and money a scenario needs, over the protocol (so it works against any
/// hub), many customers at once so group commit keeps setup short.
enum BenchSetup {
    /// How many customers are set up at the same time.
    static let parallelCustomersMax = 64
    /// A customer may hold at most 20 accounts (docs/protocol.md), one of which `signup` opens; the bench opens
    /// the others and leaves that one empty.
    static let accountsPerCustomerMax = 19

    /// `accounts` accounts spread over `customers` customers (at most `accountsPerCustomerMax` each), each funded with
    /// `depositCents`. Usernames carry a random run tag so runs against a long-lived hub never collide.
    static func customers(_ customers: Int, accounts: Int, depositCents: Int64, address: HubAddress,
                          loop: WebSocketClientLoop) async throws -> [BenchCustomer] {
        precondition(customers > 0 && accounts >= customers, "every customer needs an account")
        precondition(accounts <= customers * accountsPerCustomerMax, "at most 19 accounts per customer besides the sign-up one")
        let tag = String(UInt32.random(in: 0 ... .max), radix: 36)
        var made: [BenchCustomer?] = Array(repeating: nil, count: customers)
        var next = 0
        try await withThrowingTaskGroup(of: (Int, BenchCustomer).self) { group in
            func startOne() {
                let index = next
                next += 1
                let count = accounts / customers + (index < accounts % customers ? 1 : 0)
                group.addTask {
                    (index, try await customer("b\(tag)-\(index)", accounts: count, depositCents: depositCents,
                                               address: address, loop: loop))
                }
            }
            while next < min(customers, parallelCustomersMax) { startOne() }
            while let (index, customer) = try await group.next() {
                made[index] = customer
                if next < customers { startOne() }
            }
        }
        return made.map { $0! }
    }

    private static func customer(_ username: String, accounts: Int, depositCents: Int64, address: HubAddress,
                                 loop: WebSocketClientLoop) async throws -> BenchCustomer {
        let link = try await BenchLink.open(address, loop: loop, index: 0)
        defer { link.close() }
        let credentials = #"{"username":"\#(username)","password":"bench-password-2026"}"#
        _ = try await link.call("signup", credentials)
        let token = try await link.call("login", credentials)["token"]?.stringValue ?? ""
        let opened = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<accounts {
                group.addTask {
                    let account = try await link.call("open_account", #"{"name":"Bench"}"#)
                    guard let id = account["account"]?["id"]?.stringValue.flatMap(Int64.init) else {
                        throw BenchError("open_account answered without an id")
                    }
                    if depositCents > 0 {
                        _ = try await link.call("deposit", #"{"account":"\#(id)","amount":"\#(Cents.text(depositCents))"}"#)
                    }
                    return id
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        return BenchCustomer(username: username, token: token, accounts: opened.sorted())
    }

    /// Opens a link and authenticates it with `token`.
    static func authenticated(_ address: HubAddress, loop: WebSocketClientLoop, index: Int, token: String,
                              sourceAddress: String? = nil,
                              onFrame: @escaping @Sendable (Int, LinkFrame) -> Void = { _, _ in }) async throws -> BenchLink {
        let link = try await BenchLink.open(address, loop: loop, index: index, sourceAddress: sourceAddress,
                                            onFrame: onFrame)
        _ = try await link.call("auth", #"{"token":"\#(token)"}"#)
        return link
    }
}

/// Money as the protocol spells it: decimal strings with two decimals.
enum Cents {
    static func text(_ cents: Int64) -> String {
        precondition(cents >= 0, "amounts are positive")
        let fraction = cents % 100
        return "\(cents / 100)." + (fraction < 10 ? "0" : "") + String(fraction)
    }

    /// Parses "123.45" or "-3.00"; nil when malformed.
    static func parse(_ text: String) -> Int64? {
        let negative = text.hasPrefix("-")
        let parts = text.dropFirst(negative ? 1 : 0).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].count == 2, let whole = Int64(parts[0]), let fraction = Int64(parts[1]) else {
            return nil
        }
        let cents = whole * 100 + fraction
        return negative ? -cents : cents
    }
}
