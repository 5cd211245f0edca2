import CLibWebSockets

/// Writes on a wake-up, on the service thread: what other threads queued is written at once.
extension ServerCore {
    /// One connection the woken service thread writes to itself.
    private struct WakeWrite {
        let id: ConnectionID
        let wsi: OpaquePointer
        /// What ``OutboundQueue/peek(within:)`` offered; nil when the connection was gone.
        var batch: WriteBatch?
        var written = 0
        /// The writeable callback must do it after all (a close is next, or the socket takes nothing now).
        var deferred = false
        var failed = false
    }

    /// Writes the messages newly queued for `ids` at once instead of asking lws for a writeable callback first.
    ///
    /// That callback costs a loop pass and two epoll_ctl calls per connection (POLLOUT on, then off again) and one
    /// more trip through epoll_wait before an event's bytes leave: for one event to 19,000 subscribers, 38,000
    /// system calls besides the 19,000 sends. All connections are peeked under one lock and consumed under one
    /// more, not two locks each. Outside a callback even the first frame waits for `lws_send_pipe_choked` (which
    /// also tells lws that the write is deliberate), and a close is left to the callback: only its return value
    /// makes lws send the close frame. HTTP exchanges, closing connections and connections that received a
    /// frame since their last writeable callback (a pong may be owed first: `receivedSinceWriteable`) keep the
    /// callback too.
    func writeOnWake(_ ids: [ConnectionID]) {
        serviceState.assertOnServiceThread()
        var writes: [WakeWrite] = []
        writes.reserveCapacity(ids.count)
        for id in ids {
            guard let record = serviceState.records[id] else { continue }
            if serviceState.exchanges[id] == nil && serviceState.closeDeadlines.deadline(of: id) == nil
                && !record.receivedSinceWriteable {
                writes.append(WakeWrite(id: id, wsi: record.wsi))
            } else {
                lws_callback_on_writable(record.wsi)
            }
        }
        guard !writes.isEmpty else { return }
        outbound.withLock { state in
            for index in writes.indices {
                writes[index].batch = state.queues[writes[index].id]?.peek(within: .perCallback)
            }
        }
        for index in writes.indices { write(&writes[index]) }
        let moreRemain = outbound.withLock { state in
            writes.map { $0.batch != nil && state.queues[$0.id]?.consume($0.written) == true }
        }
        for (write, more) in zip(writes, moreRemain) {
            if write.failed {
                // Outside a callback no return value can close it: lws drops it on its next pass, then CLOSED.
                lws_set_timeout(write.wsi, PENDING_TIMEOUT_CLOSE_SEND, bankhub_lws_to_kill_async)
            } else if write.deferred || more {
                lws_callback_on_writable(write.wsi)
            }
        }
    }

    private func write(_ write: inout WakeWrite) {
        guard let batch = write.batch, !batch.isEmpty else { return }
        guard batch.close == nil else {
            write.deferred = true
            return
        }
        guard let written = writeFrames(batch, to: write.wsi, checkFirst: true) else {
            write.failed = true
            return
        }
        write.written = written
        write.deferred = written == 0
        if written > 0 { statistics.countWriteCallback(frames: written, onWake: true) }
        assert(written <= batch.messages.count)
    }
}
