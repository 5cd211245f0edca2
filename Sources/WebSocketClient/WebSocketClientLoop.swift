import Foundation
import Glibc
import Synchronization

/// Many WebSocket client connections on one epoll thread with non-blocking sockets: no thread per
/// connection, a few hundred bytes of state each while idle, so one process can hold ~20,000.
///
/// Any thread may call the methods; they post commands that the loop thread carries out in order.
/// Each connection's handler runs on the loop thread and must return quickly.
public final class WebSocketClientLoop: Sendable {
    /// A loop shared by everything in the process that does not need its own (tests use it).
    public static let shared: WebSocketClientLoop = {
        do { return try WebSocketClientLoop() } catch { fatalError("cannot start the client loop: \(error)") }
    }()

    /// How long connect plus handshake may take.
    public let handshakeTimeout: Duration
    /// How long to wait for the server's close frame after sending ours.
    public let closeTimeout: Duration

    enum Command: Sendable {
        case add(ConnectionHandoff)
        case send(UInt64, [UInt8])
        case close(UInt64, code: UInt16, reason: String)
        case setReading(UInt64, suspended: Bool)
        case stop
    }

    let epollDescriptor: Int32
    let wakeDescriptor: Int32
    let commands = Mutex<[Command]>([])
    let threadState = LoopThreadState()
    private let nextID = Atomic<UInt64>(1)
    private let stopped = DispatchSemaphore(value: 0)
    private let stopRequested = Atomic<Bool>(false)

    public init(handshakeTimeout: Duration = .seconds(10), closeTimeout: Duration = .seconds(3)) throws(WebSocketClientError) {
        self.handshakeTimeout = handshakeTimeout
        self.closeTimeout = closeTimeout
        epollDescriptor = Epoll.create()
        guard epollDescriptor >= 0 else { throw .socketFailed(operation: "epoll_create1", errno: errno) }
        wakeDescriptor = Epoll.makeEventDescriptor()
        guard wakeDescriptor >= 0 else { throw .socketFailed(operation: "eventfd", errno: errno) }
        // Data tag 0 marks the wake-up descriptor; connection ids start at 1.
        Epoll.control(epollDescriptor, Epoll.add, wakeDescriptor, events: Epoll.readable, data: 0)
        let thread = Thread { [self] in
            run()
            stopped.signal()
        }
        thread.name = "ws-client-loop"
        thread.start()
    }

    /// Starts a connection; `handler` receives its events. Fails fast only on local errors
    /// (bad address, no sockets left); connect and handshake failures arrive as `.failed`.
    public func connect(host: String, port: Int, path: String = "/", subprotocol: String? = nil,
                        origin: String? = nil, sourceAddress: String? = nil,
                        headers: [(name: String, value: String)] = [], receiveBufferBytes: Int? = nil,
                        handler: @escaping @Sendable (WebSocketClientEvent) -> Void) throws(WebSocketClientError) -> Connection {
        let address = try ClientSocket.address(host: host, port: port)
        let descriptor = try ClientSocket.startConnect(to: address, sourceAddress: sourceAddress,
                                                       receiveBufferBytes: receiveBufferBytes)
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let handshake = WebSocketHandshake(host: host, port: port, path: path, subprotocol: subprotocol,
                                           origin: origin, extraHeaders: headers)
        let state = ClientConnectionState(id: id, descriptor: descriptor, handshake: handshake,
                                          handler: handler, deadline: .now + handshakeTimeout)
        submit(.add(ConnectionHandoff(state: state)))
        return Connection(id: id, loop: self)
    }

    /// Stops the loop thread, dropping every connection without a close handshake. Idempotent.
    public func shutdown() {
        guard !stopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        submit(.stop)
        stopped.wait()
        close(wakeDescriptor)
        close(epollDescriptor)
    }

    func submit(_ command: Command) {
        let wasEmpty = commands.withLock { queue in
            queue.append(command)
            return queue.count == 1
        }
        if wasEmpty {
            var one: UInt64 = 1
            _ = write(wakeDescriptor, &one, MemoryLayout<UInt64>.size)
        }
    }

    /// A handle on one connection; cheap to copy, safe to use from any thread.
    public struct Connection: Sendable, Hashable {
        public let id: UInt64
        let loop: WebSocketClientLoop

        public static func == (lhs: Connection, rhs: Connection) -> Bool { lhs.id == rhs.id && lhs.loop === rhs.loop }
        public func hash(into hasher: inout Hasher) { hasher.combine(id) }

        /// Sends one text message (masked, one frame).
        public func send(text: String) { loop.submit(.send(id, WebSocketFrameCodec.encodeText(text))) }
        /// Sends pre-encoded frame bytes as they are (for fragmentation tests and benchmarks).
        public func send(frames: [UInt8]) { loop.submit(.send(id, frames)) }
        /// Starts the closing handshake; the server's close frame arrives as the last message.
        public func close(code: UInt16 = 1000, reason: String = "") {
            loop.submit(.close(id, code: code, reason: reason))
        }
        /// Stops reading from the socket (the server's writes then back up); for slow-consumer tests.
        public func suspendReading() { loop.submit(.setReading(id, suspended: true)) }
        public func resumeReading() { loop.submit(.setReading(id, suspended: false)) }
    }
}

/// Carries a new connection's state to the loop thread.
// @unchecked Sendable: the creating thread gives up the state when it submits the command;
// from then on only the loop thread touches it.
struct ConnectionHandoff: @unchecked Sendable {
    let state: ClientConnectionState
}
