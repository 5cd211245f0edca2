import BankWire
import Foundation
import Testing
import WebSocketClient

/// The HTTP API as a test client: `POST /api/v1/OP` over a fresh raw HTTP/1.1 connection per call.
struct APIClient {
    let port: Int
    var token: String?

    struct Answer {
        let status: Int
        let headers: [String: String]
        let reply: JSONValue

        var result: JSONValue? { reply["ok"] == true ? reply["result"] : nil }
        var code: String? { reply["error"]?["code"]?.stringValue }
    }

    /// Calls `op` with `args` as the JSON body (no body when nil) and the bearer token, if any.
    func call(_ op: String, _ args: JSONValue? = [:], headers: [(String, String)] = []) async throws -> Answer {
        var all = headers
        if let token { all.append(("Authorization", "Bearer \(token)")) }
        var body: [UInt8]?
        if let args {
            all.append(("Content-Type", "application/json"))
            body = JSONWriter.write(args)
        }
        return try await raw("POST", "/api/v1/\(op)", headers: all, body: body ?? [])
    }

    /// The result of a call that must answer 200.
    func ok(_ op: String, _ args: JSONValue = [:], headers: [(String, String)] = []) async throws -> JSONValue {
        let answer = try await call(op, args, headers: headers)
        #expect(answer.status == 200, "\(op): \(JSONWriter.string(answer.reply))")
        return try #require(answer.result)
    }

    /// Any request; the body is parsed as JSON.
    func raw(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) async throws -> Answer {
        let connection = try await HTTPClientConnection.connect(port: port)
        defer { connection.close() }
        let response = try await connection.request(method, path, headers: headers, body: body)
        let reply = (try? JSONParser.parse(response.body)) ?? .string(response.text)
        return Answer(status: response.status, headers: response.headers, reply: reply)
    }

    /// Signs up and logs in over HTTP; returns a client carrying the token.
    static func customer(_ name: String, port: Int) async throws -> APIClient {
        let anonymous = APIClient(port: port)
        let credentials: JSONValue = ["username": .string(name), "password": "correct horse battery"]
        _ = try await anonymous.ok("signup", credentials)
        let login = try await anonymous.ok("login", credentials)
        return APIClient(port: port, token: try #require(login["token"]?.stringValue))
    }
}

/// One `text/event-stream` response read record by record.
final class EventStreamReader {
    struct Record: Equatable {
        let id: Int64?
        let event: String?
        let data: String
    }

    let connection: HTTPClientConnection
    let status: Int
    let headers: [String: String]
    /// Comment lines seen so far (`: keep-alive`, `: stream ... head N`).
    private(set) var comments: [String] = []

    private init(connection: HTTPClientConnection, status: Int, headers: [String: String]) {
        self.connection = connection
        self.status = status
        self.headers = headers
    }

    /// GETs `path` and reads the response head; the records follow with `next`.
    static func open(port: Int, path: String, headers: [(String, String)], receiveBufferBytes: Int? = nil,
                     segmentBytesMax: Int? = nil) async throws -> EventStreamReader {
        let connection = try await HTTPClientConnection.connect(port: port, receiveBufferBytes: receiveBufferBytes,
                                                                segmentBytesMax: segmentBytesMax)
        try await connection.send(HTTPClientConnection.encode("GET", path, headers: headers, body: nil))
        let (status, responseHeaders) = try await connection.readHead()
        return EventStreamReader(connection: connection, status: status, headers: responseHeaders)
    }

    /// The next `count` event records (comment-only blocks are kept in `comments`).
    func next(_ count: Int) async throws -> [Record] {
        var records: [Record] = []
        while records.count < count {
            let block = try await connection.read { buffer, ended in
                Self.blockEnd(buffer) ?? (ended ? buffer.count : nil)
            }
            guard !block.isEmpty else { throw WebSocketClientError.timedOut }
            if let record = parse(String(decoding: block, as: UTF8.self)) { records.append(record) }
        }
        return records
    }

    /// Reads blocks until one is a comment with `prefix`.
    func comment(startingWith prefix: String) async throws -> String {
        while true {
            if let found = comments.first(where: { $0.hasPrefix(prefix) }) { return found }
            let block = try await connection.read { buffer, ended in
                Self.blockEnd(buffer) ?? (ended ? buffer.count : nil)
            }
            guard !block.isEmpty else { throw WebSocketClientError.timedOut }
            _ = parse(String(decoding: block, as: UTF8.self))
        }
    }

    func close() { connection.close() }

    /// Index just past the first blank line ("\n\n").
    private static func blockEnd(_ buffer: [UInt8]) -> Int? {
        guard buffer.count >= 2 else { return nil }
        for index in 1..<buffer.count where buffer[index] == 10 && buffer[index - 1] == 10 { return index + 1 }
        return nil
    }

    private func parse(_ block: String) -> Record? {
        var id: Int64?
        var event: String?
        var data: [String] = []
        for line in block.split(separator: "\n") {
            if line.hasPrefix(":") { comments.append(String(line.dropFirst().drop { $0 == " " })); continue }
            let (name, value) = line.firstIndex(of: ":").map {
                (String(line[..<$0]), String(line[line.index(after: $0)...].drop { $0 == " " }))
            } ?? (String(line), "")
            switch name {
            case "id": id = Int64(value)
            case "event": event = value
            case "data": data.append(value)
            default: break
            }
        }
        guard id != nil || event != nil || !data.isEmpty else { return nil }
        return Record(id: id, event: event, data: data.joined(separator: "\n"))
    }
}
