import Foundation
import Synchronization
import Testing
import WebSocketClient
@testable import WebSocketTransport

/// The answer side of an exchange as a pure state machine, driven directly.
struct HTTPExchangeStateTests {
    /// One step; `queue` is what the stream's queue would yield (nil: the queue must not be read).
    func step(_ state: inout HTTPExchangeState, closing: Bool, _ queue: WriteStep?) -> HTTPWriteStep {
        state.nextStep(closing: closing) {
            guard let queue else {
                Issue.record("the queue was read before the head was written")
                return .idle
            }
            return queue
        }
    }

    /// A whole response goes out as its head, then chunks of at most `bodyChunkBytes`, the last one final.
    @Test func responseIsHeadThenChunksEndingFinal() {
        var observed: HTTPWriteStep
        var state = HTTPExchangeState(bodyChunkBytes: 4)
        observed = step(&state, closing: false, .idle)
        #expect(observed == .idle)
        let response = HTTPResponse(status: 201, contentType: "text/plain", body: Array("0123456789".utf8))
        let accepted = state.answer(.response(response))
        #expect(accepted)
        let again = state.answer(.response(response))
        #expect(!again, "an exchange is answered once")
        observed = step(&state, closing: false, .idle)
        #expect(observed == .writeHead(response.head, contentLength: 10))
        observed = step(&state, closing: false, .idle)
        #expect(observed == .writeBody(Array("0123".utf8), final: false))
        observed = step(&state, closing: false, .idle)
        #expect(observed == .writeBody(Array("4567".utf8), final: false))
        observed = step(&state, closing: false, .idle)
        #expect(observed == .writeBody(Array("89".utf8), final: true))
        observed = step(&state, closing: false, .idle)
        #expect(observed == .hangUp)
    }

    /// An empty body still ends with one final (empty) write, so the transaction completes.
    @Test func emptyResponseEndsWithOneFinalWrite() {
        var observed: HTTPWriteStep
        var state = HTTPExchangeState()
        let response = HTTPResponse(status: 204, contentType: "text/plain", body: [])
        let accepted = state.answer(.response(response))
        #expect(accepted)
        observed = step(&state, closing: false, .idle)
        #expect(observed == .writeHead(response.head, contentLength: 0))
        observed = step(&state, closing: false, .idle)
        #expect(observed == .writeBody([], final: true))
    }

    /// A stream writes its head without a length, then whatever its queue yields; the queue's close hangs up.
    @Test func streamFollowsItsQueue() {
        var observed: HTTPWriteStep
        var state = HTTPExchangeState()
        let head = HTTPResponseHead(status: 200, contentType: "text/event-stream")
        let accepted = state.answer(.stream(head))
        #expect(accepted)
        observed = step(&state, closing: false, nil)
        #expect(observed == .writeHead(head, contentLength: nil))
        observed = step(&state, closing: false, .idle)
        #expect(observed == .idle)
        observed = step(&state, closing: false, .write(OutboundMessage(bytes: [1, 2], kind: .text), moreRemain: true))
        #expect(observed == .writeBody([1, 2], final: false))
        observed = step(&state, closing: false, .close(CloseRequest(code: 4008, reason: "slow consumer")))
        #expect(observed == .hangUp)
        observed = step(&state, closing: false, .idle)
        #expect(observed == .hangUp)
    }

    /// Shutdown hangs up an exchange nobody answered, but still writes an answer that is there.
    @Test func shutdownHangsUpOnlyUnansweredExchanges() {
        var observed: HTTPWriteStep
        var unanswered = HTTPExchangeState()
        observed = step(&unanswered, closing: true, .idle)
        #expect(observed == .hangUp)
        var answered = HTTPExchangeState()
        let response = HTTPResponse(status: 503, body: [])
        let accepted = answered.answer(.response(response))
        #expect(accepted)
        observed = step(&answered, closing: true, .idle)
        #expect(observed == .writeHead(response.head, contentLength: 0))
    }

    /// A body over the limit is dropped whole (not truncated) and flagged.
    @Test func bodyCollectorDropsOversizedBodies() {
        var collector = HTTPBodyCollector(bytesMax: 5)
        let bytes: [UInt8] = [1, 2, 3]
        bytes.withUnsafeBytes { collector.append($0) }
        #expect(collector.bytes == [1, 2, 3] && !collector.tooLarge)
        bytes.withUnsafeBytes { collector.append($0) }
        #expect(collector.bytes.isEmpty && collector.tooLarge)
        bytes.withUnsafeBytes { collector.append($0) }
        #expect(collector.bytes.isEmpty && collector.tooLarge)
    }

    /// A route owns its prefix and what is below it, not paths that merely start with the same letters.
    @Test func routesMatchWholePathSegments() {
        let route = HTTPRoute(pathPrefix: "/api/v1") { _ in }
        #expect(route.matches("/api/v1"))
        #expect(route.matches("/api/v1/transfer"))
        #expect(!route.matches("/api/v10"))
        #expect(!route.matches("/api"))
        #expect(HTTPRequest.queryArgument("since=5") == ("since", "5"))
        #expect(HTTPRequest.queryArgument("flag") == ("flag", ""))
        #expect(HTTPRequest(id: 1, method: .post, path: "/", headers: ["content-type": "Application/JSON; charset=utf-8"])
            .mediaType == "application/json")
    }
}

/// Dynamic routes end to end: a real server, real sockets, a raw HTTP/1.1 client.
@Suite(.serialized) struct HTTPExchangeTests {
    /// A server whose route "/echo" answers with what it saw, and whose "/stream" route streams what the test
    /// sends it; every finished exchange id is recorded.
    final class Recorder: Sendable {
        let streams = Mutex<[HTTPExchange]>([])
        let closedIDs = Mutex<[ConnectionID]>([])
    }

    final class Harness: Sendable {
        let server: WebSocketServer
        let recorder = Recorder()

        init(configure: (inout WebSocketServerConfiguration) -> Void = { _ in }) throws {
            var configuration = WebSocketServerConfiguration()
            configuration.port = 0
            configuration.messageBytesMax = 1_024
            configuration.shutdownGraceSeconds = 2
            // The whole suite in parallel on two cores can hold a test's next request back for seconds: the
            // default 5 s to a request head would close its keep-alive connection (seen as an empty response).
            configuration.httpIdleSeconds = 60
            configuration.log = { _ in }
            configure(&configuration)
            server = WebSocketServer(configuration: configuration, health: { Array("{}".utf8) })
            let recorder = self.recorder
            server.addRoute(HTTPRoute.responding(to: "/echo", customHeaders: ["idempotency-key"]) { request in
                let summary = [
                    "method=\(request.method.rawValue)", "path=\(request.path)",
                    "query=\(request.query.map { "\($0.name):\($0.value)" }.joined(separator: ","))",
                    "key=\(request.header("Idempotency-Key") ?? "-")", "auth=\(request.header("authorization") ?? "-")",
                    "type=\(request.mediaType ?? "-")", "tooLarge=\(request.bodyTooLarge)",
                    "body=\(String(decoding: request.body, as: UTF8.self))",
                ]
                return HTTPResponse(status: 201, contentType: "text/plain", headers: [("X-Echo", "yes")],
                                    body: Array(summary.joined(separator: "\n").utf8))
            })
            server.addRoute(HTTPRoute(pathPrefix: "/stream", handle: { exchange in
                exchange.startStream(HTTPResponseHead(status: 200, contentType: "text/event-stream"))
                recorder.streams.withLock { $0.append(exchange) }
            }, closed: { id in recorder.closedIDs.withLock { $0.append(id) } }))
            try server.start()
        }

        func stream() async throws -> HTTPExchange {
            for _ in 0..<500 {
                if let exchange = recorder.streams.withLock({ $0.last }) { return exchange }
                try await Task.sleep(for: .milliseconds(10))
            }
            throw WebSocketClientError.timedOut
        }

        func waitUntilClosed(_ id: ConnectionID, seconds: Int) async throws {
            for _ in 0..<(seconds * 100) {
                if recorder.closedIDs.withLock({ $0.contains(id) }) { return }
                try await Task.sleep(for: .milliseconds(10))
            }
            Issue.record("exchange \(id) was never reported closed")
        }
    }

    /// A POST reaches its route with method, path, query, known and custom headers and body; the answer
    /// carries its status and extra header; a second request reuses the connection (keep-alive).
    @Test func postReachesTheRouteAndTheConnectionIsReused() async throws {
        let harness = try Harness()
        defer { harness.server.shutdown() }
        let client = try await HTTPClientConnection.connect(port: harness.server.port)
        defer { client.close() }
        let response = try await client.request("POST", "/echo/a%20b?since=5&x=1", headers: [
            ("Idempotency-Key", "order-7"), ("Authorization", "Bearer abc"), ("Content-Type", "application/json"),
        ], body: Array(#"{"n":1}"#.utf8))
        #expect(response.status == 201)
        #expect(response.headers["x-echo"] == "yes")
        #expect(response.headers["content-type"] == "text/plain")
        let lines = response.text.split(separator: "\n").map(String.init)
        #expect(lines == ["method=POST", "path=/echo/a b", "query=since:5,x:1", "key=order-7", "auth=Bearer abc",
                          "type=application/json", "tooLarge=false", #"body={"n":1}"#])
        let second = try await client.request("GET", "/echo")
        #expect(second.status == 201)
        #expect(second.text.hasPrefix("method=GET\npath=/echo\n"))
    }

    /// A keep-alive connection that sends no next request head within `httpIdleSeconds` of its last response
    /// is closed by the server, on its own.
    @Test func keepAliveConnectionIsClosedAfterTheIdleTime() async throws {
        let harness = try Harness(configure: { $0.httpIdleSeconds = 1 })
        defer { harness.server.shutdown() }
        // Each read waits at most 4 s of silence: past it `readToEnd` throws instead of seeing the close.
        let client = try await HTTPClientConnection.connect(port: harness.server.port, receiveTimeoutSeconds: 4)
        defer { client.close() }
        #expect(try await client.request("GET", "/echo").status == 201)
        #expect(try await client.readToEnd() == [])
    }

    /// So is a connection that sends no request head at all within `httpIdleSeconds` of its accept.
    @Test func silentConnectionIsClosedAfterTheIdleTime() async throws {
        let harness = try Harness(configure: { $0.httpIdleSeconds = 1 })
        defer { harness.server.shutdown() }
        let client = try await HTTPClientConnection.connect(port: harness.server.port, receiveTimeoutSeconds: 4)
        defer { client.close() }
        #expect(try await client.readToEnd() == [])
    }

    /// A body over `messageBytesMax` is read and dropped; the route learns it was too large, and the
    /// connection still serves the next request.
    @Test func oversizedBodyIsFlaggedAndTheConnectionSurvives() async throws {
        let harness = try Harness()
        defer { harness.server.shutdown() }
        let client = try await HTTPClientConnection.connect(port: harness.server.port)
        defer { client.close() }
        let big = try await client.request("POST", "/echo", body: [UInt8](repeating: 65, count: 5_000))
        #expect(big.text.contains("tooLarge=true\nbody=\n") || big.text.hasSuffix("tooLarge=true\nbody="))
        let small = try await client.request("POST", "/echo", body: Array("ok".utf8))
        #expect(small.text.hasSuffix("tooLarge=false\nbody=ok"))
    }

    /// A POST without Content-Length has an empty body (what `curl -X POST` sends): it is answered, then the
    /// connection closes. A chunked body is refused with 411, and a path with no route is 404.
    @Test func postWithoutLengthIsBodilessChunkedIs411AndUnroutedPathIs404() async throws {
        let harness = try Harness()
        defer { harness.server.shutdown() }
        let client = try await HTTPClientConnection.connect(port: harness.server.port)
        defer { client.close() }
        try await client.send(Array("POST /echo HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let head = try await client.readHead()
        #expect(head.status == 201 && head.headers["connection"] == "close")
        let rest = String(decoding: try await client.readToEnd(), as: UTF8.self)
        #expect(rest.hasPrefix("method=POST\n") && rest.hasSuffix("body="))
        let chunked = try await HTTPClientConnection.connect(port: harness.server.port)
        defer { chunked.close() }
        try await chunked.send(Array("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
        #expect(try await chunked.readHead().status == 411)
        let other = try await HTTPClientConnection.connect(port: harness.server.port)
        defer { other.close() }
        #expect(try await other.request("GET", "/elsewhere").status == 404)
        #expect(try await other.request("GET", "/echoes").status == 404)
    }

    /// A stream's head goes out at once, each `send` follows in order, and `finish` closes the connection.
    @Test func streamDeliversPiecesInOrderThenEnds() async throws {
        let harness = try Harness()
        defer { harness.server.shutdown() }
        let client = try await HTTPClientConnection.connect(port: harness.server.port)
        defer { client.close() }
        try await client.send(HTTPClientConnection.encode("GET", "/stream", headers: [], body: nil))
        let head = try await client.readHead()
        #expect(head.status == 200)
        #expect(head.headers["content-type"] == "text/event-stream")
        #expect(head.headers["content-length"] == nil)
        let exchange = try await harness.stream()
        let accepted = (0..<100).filter { exchange.send(Array("data: \($0)\n\n".utf8)) }.count
        #expect(accepted == 100)
        exchange.finish()
        let body = String(decoding: try await client.readToEnd(), as: UTF8.self)
        #expect(body == (0..<100).map { "data: \($0)\n\n" }.joined())
        try await harness.waitUntilClosed(exchange.id, seconds: 5)
        let late = exchange.send(Array("late".utf8))
        #expect(!late, "a finished stream takes nothing more")
    }

    /// A reader that stops reading is cut off: its queue overflows (or its bytes wait past
    /// `httpStreamStallSeconds`) and the connection is closed within seconds; the route hears of it.
    @Test func stalledStreamReaderIsCutOff() async throws {
        let harness = try Harness {
            $0.outboundQueueBytesMax = 64 * 1_024
            $0.httpStreamStallSeconds = 1
        }
        defer { harness.server.shutdown() }
        let client = try await HTTPClientConnection.connect(port: harness.server.port, receiveBufferBytes: 4_096)
        defer { client.close() }
        try await client.send(HTTPClientConnection.encode("GET", "/stream", headers: [], body: nil))
        _ = try await client.readHead()
        let exchange = try await harness.stream()
        let piece = [UInt8](repeating: 120, count: 1_024)
        var refused = false
        for _ in 0..<20_000 where !refused {
            refused = !exchange.send(piece)
            if !refused { try await Task.sleep(for: .microseconds(100)) }
        }
        #expect(refused, "20 MB were queued for a reader that reads nothing")
        try await harness.waitUntilClosed(exchange.id, seconds: 10)
        #expect(harness.server.connectionCount == 0)
    }

    /// A reader that stops reading while its queue is far from full is cut off by the stall timer alone:
    /// bytes wait in lws for more than `httpStreamStallSeconds`.
    @Test func streamReaderStalledBelowTheQueueLimitIsCutOff() async throws {
        let harness = try Harness { $0.httpStreamStallSeconds = 1 }
        defer { harness.server.shutdown() }
        let client = try await HTTPClientConnection.connect(port: harness.server.port, receiveBufferBytes: 4_096,
                                                            segmentBytesMax: 536)
        defer { client.close() }
        try await client.send(HTTPClientConnection.encode("GET", "/stream", headers: [], body: nil))
        _ = try await client.readHead()
        let exchange = try await harness.stream()
        // 512 KiB: more than the kernel's socket buffers take at this MSS, far less than the 8 MiB queue limit.
        let piece = [UInt8](repeating: 120, count: 16 * 1_024)
        var accepted = 0
        for _ in 0..<32 where exchange.send(piece) { accepted += 1 }
        #expect(accepted == 32, "512 KiB fit the 8 MiB queue")
        try await harness.waitUntilClosed(exchange.id, seconds: 10)
        let late = exchange.send(piece)
        #expect(!late)
    }

    /// A client that leaves mid-stream ends the exchange; the route hears of it.
    @Test func clientLeavingEndsTheStream() async throws {
        let harness = try Harness()
        defer { harness.server.shutdown() }
        let client = try await HTTPClientConnection.connect(port: harness.server.port)
        try await client.send(HTTPClientConnection.encode("GET", "/stream", headers: [], body: nil))
        _ = try await client.readHead()
        let exchange = try await harness.stream()
        client.close()
        try await harness.waitUntilClosed(exchange.id, seconds: 5)
    }
}
