import BankWire
import Synchronization
import WebSocketClient

/// What a link hands to its scenario, on the client loop thread.
enum LinkFrame: Sendable {
    case reply(id: Int64, ok: Bool, code: String?)
    case event(kind: String, stream: String, seq: Int64)
    /// The connection ended (the hub's close code, or 1006 when it dropped).
    case closed(code: UInt16)
}

/// One load-generating WebSocket connection on a shared ``WebSocketClientLoop`` (one epoll thread for all).
///
/// Two ways to use it: `call` for setup requests (a continuation per request, the reply parsed in full), and
/// `send` plus the `onFrame` handler for load (replies and events scanned, not parsed, on the loop thread).
/// Setup calls use ids from `callIDBase` up so they never collide with a scenario's own ids.
final class BenchLink: Sendable {
    static let callIDBase: Int64 = 1 << 40

    private struct Calls {
        var opening: CheckedContinuation<Void, any Error>?
        var waiting: [Int64: CheckedContinuation<JSONValue, any Error>] = [:]
        var nextID = BenchLink.callIDBase
        var ended = false
    }

    let index: Int
    private let calls: Mutex<Calls>
    private let handle = Mutex<WebSocketClientLoop.Connection?>(nil)

    private init(index: Int) {
        self.index = index
        calls = Mutex(Calls())
    }

    var connection: WebSocketClientLoop.Connection {
        guard let connection = handle.withLock({ $0 }) else { preconditionFailure("link used before it opened") }
        return connection
    }

    /// Connects and completes the WebSocket handshake (subprotocol bankhub.v1).
    static func open(_ address: HubAddress, loop: WebSocketClientLoop, index: Int, sourceAddress: String? = nil,
                     onFrame: @escaping @Sendable (Int, LinkFrame) -> Void = { _, _ in }) async throws -> BenchLink {
        try await open(address, loop: loop, index: index, sourceAddress: sourceAddress, subprotocol: "bankhub.v1",
                       raw: nil, onFrame: onFrame)
    }

    /// Connects to a peer server that does not speak the hub's protocol: every text message goes to `raw`.
    static func open(_ address: HubAddress, loop: WebSocketClientLoop, index: Int,
                     raw: @escaping @Sendable (Int, String) -> Void) async throws -> BenchLink {
        try await open(address, loop: loop, index: index, sourceAddress: nil, subprotocol: nil, raw: raw,
                       onFrame: { _, _ in })
    }

    private static func open(_ address: HubAddress, loop: WebSocketClientLoop, index: Int, sourceAddress: String?,
                             subprotocol: String?, raw: (@Sendable (Int, String) -> Void)?,
                             onFrame: @escaping @Sendable (Int, LinkFrame) -> Void) async throws -> BenchLink {
        let link = BenchLink(index: index)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            link.calls.withLock { $0.opening = continuation }
            do throws(WebSocketClientError) {
                let connection = try loop.connect(host: address.host, port: address.port, path: address.path,
                                                  subprotocol: subprotocol, sourceAddress: sourceAddress) { event in
                    if let raw, case .message(.text(let text)) = event { return raw(index, text) }
                    link.deliver(event, onFrame: onFrame)
                }
                link.handle.withLock { $0 = connection }
            } catch {
                link.deliver(.failed(error), onFrame: onFrame)
            }
        }
        return link
    }

    /// Sends one request frame as is.
    func send(_ text: String) {
        connection.send(frames: WebSocketFrameCodec.encodeText(text))
    }

    /// Sends a request and returns its `result`, or throws the hub's error code.
    func call(_ op: String, _ args: String = "{}") async throws -> JSONValue {
        let reply = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<JSONValue, any Error>) in
            let id: Int64? = calls.withLock { calls in
                guard !calls.ended else { return nil }
                defer { calls.nextID += 1 }
                calls.waiting[calls.nextID] = continuation
                return calls.nextID
            }
            guard let id else { return continuation.resume(throwing: BenchError("connection closed before \(op)")) }
            send(#"{"id":\#(id),"op":"\#(op)","args":\#(args)}"#)
        }
        guard reply["ok"]?.boolValue == true, let result = reply["result"] else {
            let code = reply["error"]?["code"]?.stringValue ?? "unknown"
            throw BenchError("\(op) failed: \(code) \(reply["error"]?["message"]?.stringValue ?? "")")
        }
        return result
    }

    func close() { connection.close() }

    private func deliver(_ event: WebSocketClientEvent, onFrame: (Int, LinkFrame) -> Void) {
        switch event {
        case .opened:
            calls.withLock { calls in
                calls.opening?.resume()
                calls.opening = nil
            }
        case .failed(let error):
            end(BenchError("connection failed: \(error)"))
            onFrame(index, .closed(code: 1006))
        case .message(.close(let code, _)):
            end(BenchError("connection closed with \(code)"))
            onFrame(index, .closed(code: code))
        case .message(.text(let text)):
            switch FrameScan.scan(text) {
            case .reply(let id, let ok, let code):
                if id >= Self.callIDBase, let waiter = calls.withLock({ $0.waiting.removeValue(forKey: id) }) {
                    waiter.resume(with: Result { try JSONParser.parse(text) })
                } else {
                    onFrame(index, .reply(id: id, ok: ok, code: code))
                }
            case .event(let kind, let stream, let seq):
                onFrame(index, .event(kind: kind, stream: stream, seq: seq))
            case .other:
                onFrame(index, .reply(id: -1, ok: false, code: "unparsed"))
            }
        case .message(.binary):
            onFrame(index, .reply(id: -1, ok: false, code: "binary_frame"))
        }
    }

    private func end(_ error: BenchError) {
        let (opening, waiting) = calls.withLock { calls in
            calls.ended = true
            defer {
                calls.opening = nil
                calls.waiting = [:]
            }
            return (calls.opening, calls.waiting)
        }
        opening?.resume(throwing: error)
        for waiter in waiting.values { waiter.resume(throwing: error) }
    }
}

/// Where the hub listens: `ws://HOST:PORT/PATH`.
struct HubAddress: Sendable {
    let host: String
    let port: Int
    let path: String

    init(host: String, port: Int, path: String = "/ws") {
        self.host = host
        self.port = port
        self.path = path
    }

    /// Parses `ws://host:port/path` (path defaults to /ws).
    init(url: String) throws {
        guard url.hasPrefix("ws://") else { throw BenchError("--url must start with ws:// (got \(url))") }
        let rest = url.dropFirst(5)
        let hostPort = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(hostPort.count)
        let parts = hostPort.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw BenchError("--url needs host:port (got \(url))") }
        self.init(host: String(parts[0]), port: port, path: path.isEmpty ? "/ws" : String(path))
    }
}
