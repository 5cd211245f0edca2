@testable import BankHub
import BankStorage
import BankStore
import BankWire
import Foundation
import Logging
import Synchronization
import WebSocketClient

/// The real hub on a database folder that outlives it, so a test can stop it (or let its writer fail-stop)
/// and start a new one on the same file, as an operator's restart would. `TestHub` removes its folder on stop.
final class FaultHub: Sendable {
    let server: HubServer
    let port: Int
    private let runner: Task<Void, Never>
    private let failStops: FailStopBox

    private init(server: HubServer, port: Int, failStops: FailStopBox) {
        self.server = server
        self.port = port
        self.failStops = failStops
        runner = Task.detached { await server.run() }
    }

    /// The reasons the writer gave for stopping (the seam that stands in for the process exiting).
    var stops: [String] { failStops.reasons }

    static func database(in directory: URL) -> String { directory.appendingPathComponent("bank.sqlite").path }

    /// Starts a hub on `directory`'s database. A fail-stop halts its writer instead of ending the test process.
    static func start(in directory: URL, configure: (inout HubServer.Options) -> Void = { _ in }) async throws -> FaultHub {
        let recorder = FailStopBox()
        var options = HubServer.Options()
        options.databasePath = database(in: directory)
        options.transport.port = 0
        options.transport.httpIdleSeconds = TestHub.httpIdleSeconds
        options.transport.webRoot = TestHub.webRoot
        options.hub.passwordIterations = 1_000
        // A halted writer never answers its ledger jobs: do not wait long for them at shutdown.
        options.hub.shutdownGraceMilliseconds = 200
        options.storage.failStop = { reason in recorder.record(reason) }
        configure(&options)
        var logger = Logger(label: "bankhub-fault-test")
        logger.logLevel = .critical
        let server = try await HubServer.open(options, logger: logger)
        let hub = FaultHub(server: server, port: try server.start(), failStops: recorder)
        // The janitor's first pass (at start; the next is an hour away) is done before any fault is armed: a
        // job of it in a batch whose fsync fails would never be answered, and shutdown awaits the janitor.
        for _ in 0..<1_000 where server.janitor.completedPasses == 0 { try await Task.sleep(for: .milliseconds(10)) }
        return hub
    }

    var isHalted: Bool { server.writer.isHalted }

    func stop() async {
        await server.shutdown()
        await runner.value
    }

    func client() async throws -> HubClient {
        HubClient(try await WebSocketConnection.connect(port: port, path: "/ws", subprotocol: "bankhub.v1"))
    }

    func connection() async throws -> WebSocketConnection {
        try await WebSocketConnection.connect(port: port, path: "/ws", subprotocol: "bankhub.v1")
    }
}

/// The writer's fail-stop reasons, recorded instead of ending the process.
private final class FailStopBox: Sendable {
    private let recorded = Mutex<[String]>([])

    func record(_ reason: String) { recorded.withLock { $0.append(reason) } }

    var reasons: [String] { recorded.withLock { $0 } }
}

/// One request of a pipelined storm and what became of it.
struct StormRequest: Sendable {
    let op: String
    let args: JSONValue
    /// The reply; nil when none came (the hub stopped answering).
    var reply: JSONValue?

    var succeeded: Bool { reply?["ok"]?.boolValue == true }
    var failed: Bool { reply?["ok"]?.boolValue == false }
    /// Failed with an answer that says nothing happened (not "whether it happened is unknown", which only the
    /// test seam past a failed fsync sends; the product stops first).
    var refused: Bool { failed && reply?["error"]?["message"]?.stringValue?.contains("unknown") != true }
}

/// Keeps up to `window` requests in flight on `connection` until `total` were sent, then waits for their
/// replies. Stops sending once `stopped()` is true, and stops waiting when nothing arrives for
/// `quietMilliseconds` after that (a halted writer never answers its ledger jobs), when the connection ends
/// (the hub was killed), or after 10 s without a message in any case.
func pipeline(_ connection: WebSocketConnection, total: Int, window: Int, quietMilliseconds: Int = 300,
              answered: ReplyCounter? = nil, stopped: @Sendable () -> Bool,
              request: (Int) -> (op: String, args: JSONValue)) async throws -> [StormRequest] {
    var requests: [StormRequest] = []
    var outstanding = 0
    var lastMessage = ContinuousClock.now
    while true {
        while outstanding < window, requests.count < total, !stopped() {
            let (op, args) = request(requests.count)
            let id = requests.count
            requests.append(StormRequest(op: op, args: args))
            do {
                try await connection.send(JSONWriter.string(["id": .integer(Int64(id)), "op": .string(op), "args": args]))
            } catch {
                return requests // the connection is gone (the hub was killed): what was answered is all there is
            }
            outstanding += 1
        }
        if outstanding == 0 { return requests }
        let message: WebSocketMessage
        do {
            message = try await connection.receive(timeout: .milliseconds(quietMilliseconds))
        } catch WebSocketClientError.timedOut {
            let quiet = ContinuousClock.now - lastMessage
            if (stopped() && quiet >= .milliseconds(quietMilliseconds)) || quiet > .seconds(10) { return requests }
            continue
        } catch {
            return requests
        }
        lastMessage = .now
        guard case .text(let text) = message else { return requests }
        let value = try JSONParser.parse(text)
        guard value["event"] == nil, let id = value["id"]?.int64Value, requests.indices.contains(Int(id)) else { continue }
        if requests[Int(id)].reply == nil {
            outstanding -= 1
            answered?.add()
        }
        requests[Int(id)].reply = value
    }
}

/// Replies a storm has received so far, for a task that acts at a point of its progress.
final class ReplyCounter: Sendable {
    private let count = Atomic<Int>(0)

    func add() { count.add(1, ordering: .releasing) }

    var value: Int { count.load(ordering: .acquiring) }
}
