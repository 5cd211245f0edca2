/// Whether a wake-up (`lws_cancel_service`) is already on its way to the service thread, so that a burst of
/// sends from other threads — replies to many connections, an event for many subscribers — wakes it once.
///
/// Lives in ``OutboundState``, under the same mutex as the requests it announces: the service thread takes the
/// requests and clears the signal in one step, so a request recorded while the signal is pending is taken by the
/// wake-up already on its way, and one recorded after the clear sends a new one.
struct WakeSignal: Sendable, Equatable {
    /// A caller has decided to wake the service thread, which has not yet taken the requests since.
    private(set) var isPending = false

    /// Work for the service thread was just recorded: true when this caller must wake it (no wake-up pending).
    mutating func request() -> Bool {
        defer { isPending = true }
        return !isPending
    }

    /// The service thread is taking the recorded requests: the next one needs a wake-up of its own.
    mutating func serviceTookRequests() {
        isPending = false
    }
}
