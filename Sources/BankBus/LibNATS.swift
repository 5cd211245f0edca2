import CNATS

/// A libnats object (`natsConnection *`, `natsSubscription *`) shared across threads.
/// `@unchecked Sendable` because libnats documents connections and subscriptions as thread-safe (it locks
/// internally); Swift cannot see that. Only the owner's `deinit` destroys the object.
struct LibNATSPointer: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer?) {
        precondition(pointer != nil, "libnats returned NATS_OK without an object")
        self.pointer = pointer!
    }
}

/// libnats statuses mapped to ``BusError`` codes in one place.
enum LibNATSStatus {
    static func check(_ status: natsStatus, _ action: String) throws(BusError) {
        guard status != NATS_OK else { return }
        throw error(status, action)
    }

    static func error(_ status: natsStatus, _ action: String) -> BusError {
        let text = String(cString: natsStatus_GetText(status))
        switch status {
        case NATS_INSUFFICIENT_BUFFER:
            return BusError(.pendingBufferFull, "\(action): disconnected and the pending buffer is full")
        case NATS_CONNECTION_CLOSED: return BusError(.closed, "\(action): the connection is closed")
        case NATS_TIMEOUT: return BusError(.timeout, "\(action): timed out")
        case NATS_INVALID_SUBJECT: return BusError(.invalidSubject, "\(action): invalid subject")
        case NATS_INVALID_ARG, NATS_ADDRESS_MISSING:
            return BusError(.invalidConfiguration, "\(action): \(text)")
        default: return BusError(.library, "\(action): \(text)")
        }
    }
}
