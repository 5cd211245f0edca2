import BankCore
import Synchronization
import WebSocketTransport

/// Keeps each connection's money operations entering the ledger in the order they arrived, without making the
/// hub's one shared loop wait for anything slow.
///
/// A money op whose way to the ledger is fast (argument checks, the ledger hop) runs inline on the shared loop,
/// as before. One that must first wait for a commit or a read (`confirm_otp` redeems its code in a commit; with
/// `otpNewPayee` a transfer reads the payee history) runs in the connection's lane: a chain of tasks, each
/// starting when the one before it has entered the ledger. While a connection's lane is busy its later money ops
/// queue behind it too, so they cannot overtake it. Other connections never wait for a lane; at most
/// `requestsInFlightMax` requests of a connection exist at once, so a lane is bounded by that.
final class MoneyLanes: Sendable {
    private struct Lane {
        let number: UInt64
        let tail: Task<Void, Never>
    }

    private struct State {
        var lanes: [ConnectionID: Lane] = [:]
        var queued: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Whether no money op of `connection` is waiting or running in its lane.
    func isIdle(_ connection: ConnectionID) -> Bool {
        state.withLock { $0.lanes[connection] == nil }
    }

    /// Runs `work` after every earlier op of the connection's lane has finished; returns at once.
    func enqueue(_ connection: ConnectionID, _ work: @escaping @Sendable () async -> Void) {
        state.withLock { state in
            state.queued += 1
            let number = state.queued
            let previous = state.lanes[connection]?.tail
            let tail = Task {
                await previous?.value
                await work()
                self.finished(connection, number)
            }
            state.lanes[connection] = Lane(number: number, tail: tail)
        }
    }

    /// Forgets the lane once its last op has finished (a later op keeps it).
    private func finished(_ connection: ConnectionID, _ number: UInt64) {
        state.withLock { state in
            if state.lanes[connection]?.number == number { state.lanes[connection] = nil }
        }
    }

    /// Connections with a busy lane (for tests and statistics).
    var busyCount: Int { state.withLock { $0.lanes.count } }
}

extension Hub {
    /// Runs a money op inline when the connection's lane is idle: it then awaits only the ledger hop, which keeps
    /// the ops of every connection in arrival order. When `always` (the op waits for a commit or a read before
    /// it reaches the ledger) or the lane is busy, queues it in the lane and returns at once; its reply follows.
    func inMoneyLane(_ id: ConnectionID, _ responder: Responder, always: Bool,
                     _ work: @escaping @Sendable () async throws -> Void) async throws(BankError) {
        guard always || !moneyLanes.isIdle(id) else {
            do { return try await work() } catch { throw Self.bankError(error) }
        }
        // The connection's ops already queued for the ledger go in before anything of the lane.
        await flushLedger()
        moneyLanes.enqueue(id) {
            do { try await work() } catch { responder.fail(Self.bankError(error)) }
            await self.flushLedger()
        }
    }
}
