import Glibc

/// epoll and eventfd, which Swift's Glibc module does not export (no <sys/epoll.h> in its module
/// map). The functions are looked up once with dlsym and called through C function pointers; the
/// constants and the `struct epoll_event` layout are the Linux ABI.
enum Epoll {
    static let readable: UInt32 = 0x001   // EPOLLIN
    static let writable: UInt32 = 0x004   // EPOLLOUT
    static let error: UInt32 = 0x008      // EPOLLERR
    static let hangUp: UInt32 = 0x010     // EPOLLHUP
    static let add: Int32 = 1             // EPOLL_CTL_ADD
    static let remove: Int32 = 2          // EPOLL_CTL_DEL
    static let modify: Int32 = 3          // EPOLL_CTL_MOD
    static let closeOnExec: Int32 = 0o2_000_000   // EPOLL_CLOEXEC == EFD_CLOEXEC == O_CLOEXEC
    static let nonBlocking: Int32 = 0o4_000       // EFD_NONBLOCK == O_NONBLOCK

    #if arch(x86_64)
    /// `struct epoll_event` is packed on x86-64: events (4 bytes) then data (8 bytes).
    static let eventBytes = 12
    static let dataOffset = 4
    #else
    static let eventBytes = 16
    static let dataOffset = 8
    #endif

    private static let functions = EpollFunctions()

    static func create() -> Int32 { functions.create(closeOnExec) }

    static func makeEventDescriptor() -> Int32 { functions.eventfd(0, nonBlocking | closeOnExec) }

    /// epoll_ctl with a one-event buffer holding `events` and the 64-bit `data` tag.
    @discardableResult
    static func control(_ epoll: Int32, _ operation: Int32, _ descriptor: Int32, events: UInt32, data: UInt64) -> Int32 {
        withUnsafeTemporaryAllocation(byteCount: 16, alignment: 8) { buffer in
            buffer.storeBytes(of: events, toByteOffset: 0, as: UInt32.self)
            buffer.storeBytes(of: data, toByteOffset: dataOffset, as: UInt64.self)
            return functions.control(epoll, operation, descriptor, buffer.baseAddress)
        }
    }

    /// epoll_wait into `buffer` (room for `capacity` events); read results with `event(in:at:)`.
    static func wait(_ epoll: Int32, _ buffer: UnsafeMutableRawPointer, capacity: Int, timeoutMilliseconds: Int32) -> Int32 {
        functions.wait(epoll, buffer, Int32(capacity), timeoutMilliseconds)
    }

    static func event(in buffer: UnsafeMutableRawPointer, at index: Int) -> (events: UInt32, data: UInt64) {
        let base = buffer + index * eventBytes
        return (base.loadUnaligned(as: UInt32.self), base.loadUnaligned(fromByteOffset: dataOffset, as: UInt64.self))
    }
}

/// The libc entry points, resolved once.
// @unchecked Sendable: four immutable C function pointers into libc, safe to call from any thread.
private struct EpollFunctions: @unchecked Sendable {
    let create: @convention(c) (Int32) -> Int32
    let control: @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    let wait: @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32
    let eventfd: @convention(c) (UInt32, Int32) -> Int32

    init() {
        let process = dlopen(nil, RTLD_NOW)
        func resolve<Function>(_ name: String, as type: Function.Type) -> Function {
            guard let symbol = dlsym(process, name) else { fatalError("libc has no \(name)") }
            return unsafeBitCast(symbol, to: type)
        }
        create = resolve("epoll_create1", as: (@convention(c) (Int32) -> Int32).self)
        control = resolve("epoll_ctl", as: (@convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32).self)
        wait = resolve("epoll_wait", as: (@convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32).self)
        eventfd = resolve("eventfd", as: (@convention(c) (UInt32, Int32) -> Int32).self)
    }
}
