import CEpoll

/// epoll and eventfd through the `CEpoll` shim: the C header's own constants and `struct epoll_event` layout.
enum Epoll {
    static let readable = bankhub_epoll_in
    static let writable = bankhub_epoll_out
    static let error = bankhub_epoll_err
    static let hangUp = bankhub_epoll_hup
    static let add = bankhub_epoll_ctl_add
    static let remove = bankhub_epoll_ctl_del
    static let modify = bankhub_epoll_ctl_mod

    /// Room for `wait`'s results.
    typealias Events = UnsafeMutablePointer<epoll_event>

    static func allocateEvents(capacity: Int) -> Events { Events.allocate(capacity: capacity) }

    static func create() -> Int32 { epoll_create1(bankhub_epoll_cloexec) }

    static func makeEventDescriptor() -> Int32 { eventfd(0, bankhub_eventfd_flags) }

    /// epoll_ctl for `descriptor` with `events` and the 64-bit `data` tag.
    @discardableResult
    static func control(_ epoll: Int32, _ operation: Int32, _ descriptor: Int32, events: UInt32, data: UInt64) -> Int32 {
        bankhub_epoll_control(epoll, operation, descriptor, events, data)
    }

    /// epoll_wait into `events` (room for `capacity`); read results with `event(in:at:)`.
    static func wait(_ epoll: Int32, _ events: Events, capacity: Int, timeoutMilliseconds: Int32) -> Int32 {
        epoll_wait(epoll, events, Int32(capacity), timeoutMilliseconds)
    }

    static func event(in events: Events, at index: Int) -> (events: UInt32, data: UInt64) {
        (bankhub_epoll_event_flags(events, Int32(index)), bankhub_epoll_event_data(events, Int32(index)))
    }
}
