import BankWire
import Testing
import WebSocketClient

/// A protocol-level test client: numbered requests, replies matched by id, events kept in arrival order.
/// Used by one task at a time.
final class HubClient {
    let connection: WebSocketConnection
    private var lastID = 0
    private(set) var events: [JSONValue] = []
    private var replies: [String: JSONValue] = [:]

    init(_ connection: WebSocketConnection) {
        self.connection = connection
    }

    struct Failure: Error, CustomStringConvertible {
        let reply: JSONValue
        var description: String { "request failed: \(JSONWriter.string(reply))" }
    }

    /// Sends a request and returns the whole reply object.
    func request(_ op: String, _ args: JSONValue = [:]) async throws -> JSONValue {
        let id = try await send(op, args)
        return try await reply(to: id)
    }

    /// Sends a request without waiting; returns its id.
    func send(_ op: String, _ args: JSONValue = [:]) async throws -> Int {
        lastID += 1
        try await connection.send(JSONWriter.string(["id": .integer(lastID), "op": .string(op), "args": args]))
        return lastID
    }

    /// The result of a request that must succeed.
    func ok(_ op: String, _ args: JSONValue = [:]) async throws -> JSONValue {
        let reply = try await request(op, args)
        guard reply["ok"]?.boolValue == true, let result = reply["result"] else { throw Failure(reply: reply) }
        return result
    }

    /// The error code of a request that must fail.
    func errorCode(_ op: String, _ args: JSONValue = [:]) async throws -> String? {
        let reply = try await request(op, args)
        #expect(reply["ok"]?.boolValue == false, "\(op) should have failed: \(JSONWriter.string(reply))")
        return reply["error"]?["code"]?.stringValue
    }

    /// Waits for the reply with `id`, keeping events that arrive meanwhile.
    func reply(to id: Int) async throws -> JSONValue {
        let key = String(id)
        while true {
            if let reply = replies.removeValue(forKey: key) { return reply }
            try await readOne()
        }
    }

    /// The next event, in order (waiting for it if none is buffered).
    func nextEvent(timeout: Duration = .seconds(5)) async throws -> JSONValue {
        while events.isEmpty { try await readOne(timeout: timeout) }
        return events.removeFirst()
    }

    /// Reads until `count` events are buffered, then takes them.
    func events(_ count: Int, timeout: Duration = .seconds(5)) async throws -> [JSONValue] {
        while events.count < count { try await readOne(timeout: timeout) }
        defer { events.removeFirst(count) }
        return Array(events.prefix(count))
    }

    /// The next raw message (a reply with `id: null`, or a close).
    func receiveRaw(timeout: Duration = .seconds(5)) async throws -> WebSocketMessage {
        try await connection.receive(timeout: timeout)
    }

    private func readOne(timeout: Duration = .seconds(5)) async throws {
        let message = try await connection.receive(timeout: timeout)
        guard case .text(let text) = message else { throw Failure(reply: .string("unexpected message \(message)")) }
        let value = try JSONParser.parse(text)
        if value["event"] != nil {
            events.append(value)
        } else if let id = value["id"], let key = id.int64Value.map(String.init) ?? id.stringValue {
            replies[key] = value
        } else {
            throw Failure(reply: value)
        }
    }

    func close() { connection.close() }
}
