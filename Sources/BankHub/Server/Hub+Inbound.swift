import BankCore
import BankWire
import WebSocketTransport

/// The WebSocket side's way in: one hop onto the hub per batch of transport events, not one per frame, and one
/// hop into the ledger for the deposits, withdrawals and transfers of the batch.
extension Hub {
    /// A transport event, decoded (frames that are not valid requests were answered before they got here).
    enum Inbound: Sendable {
        case opened(ConnectionID, ConnectionInfo)
        case request(ConnectionID, Request)
        case closed(ConnectionID)
    }

    /// Ops that may wait in `ledgerQueue` while the rest of the batch is admitted; any other op first flushes
    /// it, so that it sees (and, for goal movements, enters the ledger after) the money ops before it.
    static let queuedLedgerOps: Set<Op> = [.deposit, .withdraw, .transfer]

    /// Handles one batch in order: per connection, ops enter the ledger in the order they arrived.
    func receive(_ batch: [Inbound]) async {
        for item in batch {
            switch item {
            case .opened(let id, let info):
                opened(id, info)
            case .request(let id, let request):
                if !Self.queuedLedgerOps.contains(request.op) { await flushLedger() }
                await admit(id, request, responder: responder(for: request, from: id))
            case .closed(let id):
                closed(id)
            }
        }
        await flushLedger()
    }

    /// Hands the queued money ops to the ledger in one hop, in the order they were queued.
    func flushLedger() async {
        guard !ledgerQueue.isEmpty else { return }
        let batch = ledgerQueue
        ledgerQueue.removeAll(keepingCapacity: true)
        await ledger.submit(batch)
    }
}
