import Glibc

/// State only the loop thread touches.
// @unchecked Sendable: created with the loop and used only by its thread (`run()` and what it calls).
final class LoopThreadState: @unchecked Sendable {
    var connections: [UInt64: ClientConnectionState] = [:]
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readBufferBytes, alignment: 16)
    var nextDeadlineScan = ContinuousClock.now
    static let readBufferBytes = 64 * 1024
    /// Reads per connection per wake-up, so one busy connection cannot starve the rest.
    static let readsPerWakeMax = 8
    static let epollEventsMax = 1_024

    deinit { readBuffer.deallocate() }
}

extension WebSocketClientLoop {
    func run() {
        let capacity = LoopThreadState.epollEventsMax
        let events = Epoll.allocateEvents(capacity: capacity)
        defer { events.deallocate() }
        while true {
            let count = Epoll.wait(epollDescriptor, events, capacity: capacity, timeoutMilliseconds: 200)
            for index in 0..<max(0, Int(count)) {
                let (flags, id) = Epoll.event(in: events, at: index)
                if id == 0 { drainWakeups(); continue }
                if let state = threadState.connections[id] { handle(state, events: flags) }
            }
            if !runCommands() { break }
            expireDeadlines()
        }
        for state in threadState.connections.values { finish(state, with: .failed(.closed)) }
    }

    private func drainWakeups() {
        var value: UInt64 = 0
        _ = read(wakeDescriptor, &value, MemoryLayout<UInt64>.size)
    }

    /// Carries out posted commands; false once asked to stop.
    private func runCommands() -> Bool {
        let pending = commands.withLock { queue -> [Command] in
            defer { queue = [] }
            return queue
        }
        for command in pending {
            switch command {
            case .add(let handoff): add(handoff.state)
            case .send(let id, let bytes):
                guard let state = threadState.connections[id], state.phase == .open else { continue }
                state.queue(bytes)
                flush(state)
            case .close(let id, let code, let reason):
                if let state = threadState.connections[id] { startClose(state, code: code, reason: reason) }
            case .setReading(let id, let suspended):
                guard let state = threadState.connections[id] else { continue }
                state.readingSuspended = suspended
                updateInterest(state)
            case .stop:
                return false
            }
        }
        return true
    }

    private func add(_ state: ClientConnectionState) {
        threadState.connections[state.id] = state
        guard Epoll.control(epollDescriptor, Epoll.add, state.descriptor, events: Epoll.writable, data: state.id) == 0 else {
            finish(state, with: .failed(.socketFailed(operation: "epoll_ctl", errno: errno)))
            return
        }
        state.registeredEvents = Epoll.writable
    }

    private func handle(_ state: ClientConnectionState, events: UInt32) {
        if state.phase == .connecting {
            let error = ClientSocket.pendingError(state.descriptor)
            guard error == 0 else { return finish(state, with: .failed(.socketFailed(operation: "connect", errno: error))) }
            state.phase = .handshaking
            state.queue(state.handshake.requestBytes)
        }
        let readable = events & (Epoll.readable | Epoll.hangUp | Epoll.error) != 0
        if readable && !state.readingSuspended { readAvailable(state) }
        guard state.phase != .finished else { return }
        flush(state)
    }

    private func readAvailable(_ state: ClientConnectionState) {
        let buffer = threadState.readBuffer
        for _ in 0..<LoopThreadState.readsPerWakeMax where state.phase != .finished && !state.readingSuspended {
            let count = recv(state.descriptor, buffer.baseAddress, buffer.count, 0)
            if count > 0 {
                absorb(state, UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                return connectionLost(state)
            } else {
                return
            }
        }
    }

    private func absorb(_ state: ClientConnectionState, _ bytes: UnsafeRawBufferPointer) {
        if state.phase == .handshaking {
            do {
                guard let (subprotocol, rest) = try state.absorbHandshake(bytes) else { return }
                state.phase = .open
                state.handler(.opened(subprotocol: subprotocol))
                state.codec.append(rest)
            } catch {
                return finish(state, with: .failed(error))
            }
        } else {
            state.codec.append(bytes)
        }
        decodeEvents(state)
    }

    private func decodeEvents(_ state: ClientConnectionState) {
        do {
            while state.phase == .open || state.phase == .closing, let event = try state.codec.nextEvent() {
                if let reply = WebSocketFrameCodec.automaticReply(to: event) { state.queue(reply) }
                switch event {
                case .message(.close(let code, let reason)):
                    if !state.sentClose {
                        state.queue(WebSocketFrameCodec.encodeClose(code: code == 1005 ? 1000 : code, reason: ""))
                        state.sentClose = true
                    }
                    flush(state)
                    return finish(state, with: .message(.close(code: code, reason: reason)))
                case .message(let message):
                    state.handler(.message(message))
                case .ping, .pong:
                    break
                }
            }
        } catch {
            state.queue(WebSocketFrameCodec.encodeClose(code: 1002, reason: "protocol error"))
            flush(state)
            finish(state, with: .failed(.protocolViolation("\(error)")))
        }
    }

    private func startClose(_ state: ClientConnectionState, code: UInt16, reason: String) {
        switch state.phase {
        case .open:
            state.queue(WebSocketFrameCodec.encodeClose(code: code, reason: reason))
            state.sentClose = true
            state.phase = .closing
            state.deadline = .now + closeTimeout
            flush(state)
        case .connecting, .handshaking:
            finish(state, with: .failed(.closed))
        case .closing, .finished:
            break
        }
    }

    /// Writes what the socket takes now; the rest waits for EPOLLOUT.
    func flush(_ state: ClientConnectionState) {
        while state.hasPendingOutput {
            let written = state.outbox.withUnsafeBytes { bytes in
                send(state.descriptor, bytes.baseAddress! + state.outboxOffset,
                     bytes.count - state.outboxOffset, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                state.consumeOutput(written)
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                break
            } else {
                return connectionLost(state)
            }
        }
        updateInterest(state)
    }

    private func updateInterest(_ state: ClientConnectionState) {
        guard state.phase != .finished else { return }
        var desired: UInt32 = state.readingSuspended ? 0 : Epoll.readable
        if state.hasPendingOutput || state.phase == .connecting { desired |= Epoll.writable }
        guard desired != state.registeredEvents else { return }
        Epoll.control(epollDescriptor, Epoll.modify, state.descriptor, events: desired, data: state.id)
        state.registeredEvents = desired
    }

    private func connectionLost(_ state: ClientConnectionState) {
        switch state.phase {
        case .open, .closing: finish(state, with: .message(.close(code: 1006, reason: "connection lost")))
        case .connecting, .handshaking: finish(state, with: .failed(.connectionLost))
        case .finished: break
        }
    }

    /// The connection's last act: deregister, close the socket, deliver the final event.
    private func finish(_ state: ClientConnectionState, with event: WebSocketClientEvent) {
        guard state.phase != .finished else { return }
        state.phase = .finished
        Epoll.control(epollDescriptor, Epoll.remove, state.descriptor, events: 0, data: 0)
        close(state.descriptor)
        threadState.connections[state.id] = nil
        state.handler(event)
    }

    /// Times out handshakes and unanswered closes, scanning at most four times a second.
    private func expireDeadlines() {
        let now = ContinuousClock.now
        guard now >= threadState.nextDeadlineScan else { return }
        threadState.nextDeadlineScan = now + .milliseconds(250)
        for state in threadState.connections.values where state.phase != .open && now >= state.deadline {
            if state.phase == .closing {
                finish(state, with: .message(.close(code: 1006, reason: "close timed out")))
            } else {
                finish(state, with: .failed(.timedOut))
            }
        }
    }
}
