import BankCore
import BankStorage
import BankWire
import WebSocketTransport

/// open_account, accounts, history, balance_at (an admin may read any account's history and balances).
extension Hub {
    /// Opens an account; with `initial_deposit`, deposits it in the same commit (and answers its `txn`).
    func openAccount(_ args: Arguments, from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user
        let name = try args.optionalText("name", lengthMax: UserInputRules.accountNameLengthMax) ?? "Checking"
        let deposit = try args.has("initial_deposit") ? args.amount("initial_deposit") : nil
        let notifier = self.notifier
        respond(responder) { [ledger] in
            let opened = try await ledger.openAccount(owner: user.id, name: name, initialDeposit: deposit)
            var result: JSONObject = ["account": WireObjects.account(opened.account)]
            if let deposit = opened.deposit {
                result.append(key: "txn", value: WireObjects.transaction(id: deposit.transaction, command: deposit.command,
                                                                        note: nil, at: deposit.at))
                notifier.queued()
            }
            return .object(result)
        }
    }

    func listAccounts(from id: ConnectionID, _ responder: Responder) throws(BankError) {
        let user = try session(of: id).user.id
        respond(responder) { [readers] in
            let accounts = try await readers.read { db in try LedgerRecords.accounts(db, ownedBy: user) }
            return ["accounts": .array(accounts.map(WireObjects.account))]
        }
    }

    func history(_ args: Arguments, from id: ConnectionID, _ responder: Responder) async throws(BankError) {
        let user = try session(of: id).user
        let requested = try args.account("account")
        let pageMax = configuration.historyPageMax
        let limit = Int(try args.optionalInteger("limit", in: 1...Int64(pageMax)) ?? Int64(configuration.historyPageDefault))
        let before: Int64? = try args.has("before") ? args.identifier("before") : nil
        let account = try await readableAccount(requested, by: user)
        respond(responder) { [readers] in
            let entries = try await readers.read { db in
                try HistoryRecords.history(db, account: account, limit: limit + 1, before: before)
            }
            var result: JSONObject = ["entries": .array(entries.prefix(limit).map(WireObjects.historyEntry))]
            if entries.count > limit, let last = entries.prefix(limit).last {
                result.append(key: "next", value: .string(String(last.cursor)))
            }
            return .object(result)
        }
    }

    func balanceAt(_ args: Arguments, from id: ConnectionID, _ responder: Responder) async throws(BankError) {
        let user = try session(of: id).user
        let requested = try args.account("account")
        let at = try args.timestamp("at")
        let account = try await readableAccount(requested, by: user)
        respond(responder) { [readers] in
            let balance = try await readers.read { db in try HistoryRecords.balance(db, account: account, at: at) }
            return ["account": .string(account.description), "balance": .string(balance.description),
                    "at": .string(at.rfc3339)]
        }
    }
}
