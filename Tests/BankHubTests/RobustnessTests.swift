import BankWire
import Testing
import WebSocketClient

/// Bad input gets a clear error, changes nothing, and leaves the connection usable.
@Suite(.serialized) struct RobustnessTests {
    /// Garbage frames get `bad_request` with `id: null` (or the id when it could be read), and the
    /// connection keeps working.
    @Test func answersGarbageFramesAndStaysUsable() async throws {
        try await TestHub.with { hub in
            let client = try await hub.client()
            let frames = ["not json", "[1,2,3]", "{\"op\":\"accounts\"}", "{\"id\":[1],\"op\":\"x\"}", "\"text\"",
                          "{\"id\":1,\"op\":\"accounts\",}", "{\"id\":1e3,\"op\":\"x\"}", String(repeating: "[", count: 100)]
            for frame in frames {
                try await client.connection.send(frame)
                guard case .text(let text) = try await client.receiveRaw() else {
                    Issue.record("no reply to \(frame)")
                    continue
                }
                let reply = try JSONParser.parse(text)
                #expect(reply["id"] == .null)
                #expect(reply["ok"] == false)
                #expect(reply["error"]?["code"] == "bad_request")
            }
            #expect(try await client.errorCode("no_such_op") == "bad_request")
            let noOp = try await client.request("", [:])
            #expect(noOp["error"]?["field"] == "op")
            let badArgs = try JSONParser.parse(#"{"id":"x","op":"login","args":[1]}"#)
            try await client.connection.send(JSONWriter.string(badArgs))
            guard case .text(let text) = try await client.receiveRaw() else { throw HubClient.Failure(reply: .null) }
            #expect(try JSONParser.parse(text)["id"] == "x")
            _ = try await client.ok("signup", ["username": "still-works", "password": "correct horse battery"])
        }
    }

    /// A frame over the size limit is answered `too_large` and the connection is closed with 1009.
    @Test func closesOnOversizedFrames() async throws {
        try await TestHub.with(configure: { $0.transport.messageBytesMax = 4_096 }) { hub in
            let client = try await hub.client()
            try await client.connection.send(String(repeating: "x", count: 5_000))
            guard case .text(let text) = try await client.receiveRaw() else {
                Issue.record("no too_large reply")
                return
            }
            #expect(try JSONParser.parse(text)["error"]?["code"] == "too_large")
            #expect(try await client.receiveRaw() == .close(code: 1009, reason: "message too big"))
        }
    }

    /// The page, /healthz and the WebSocket path are served; other upgrade paths are refused.
    @Test func servesPageHealthAndOnlyTheWebSocketPath() async throws {
        try await TestHub.with { hub in
            let health = try await HTTPProbe.get(host: "127.0.0.1", port: hub.port, path: "/healthz")
            #expect(health.status == 200)
            #expect(try JSONParser.parse(health.body)["status"] == "ok")
            let page = try await HTTPProbe.get(host: "127.0.0.1", port: hub.port, path: "/")
            #expect(page.status == 200)
            #expect(String(decoding: page.body, as: UTF8.self).contains("BankHub"))
            await #expect(throws: WebSocketClientError.self) {
                _ = try await WebSocketConnection.connect(port: hub.port, path: "/elsewhere", subprotocol: "bankhub.v1")
            }
        }
    }

    /// Shutdown answers what is in flight, closes connections with 1001, and keeps committed money.
    @Test func shutsDownGracefully() async throws {
        let directory = try await TestHub.with { hub -> String in
            let alice = try await hub.customer("alice")
            await hub.server.shutdown()
            #expect(try await alice.client.receiveRaw() == .close(code: 1001, reason: "server shutting down"))
            return hub.databasePath
        }
        _ = directory
    }
}
