import Testing
import WebSocketClient
import WebSocketTransport

struct HTTPAndHandshakeTests {
    /// GET / serves index.html from the web root with every configured security header.
    @Test func staticIndexIsServedWithSecurityHeaders() async throws {
        let harness = try EchoHarness()
        defer { harness.stop() }
        let response = try await HTTPProbe.get(port: harness.port, path: "/")
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == EchoHarness.indexHTML)
        for header in EchoHarness.securityHeaders {
            #expect(response.headers[header.name.lowercased()] == header.value)
        }
    }

    /// GET /healthz answers 200 application/json with the bytes the health closure returns.
    @Test func healthzReturnsHealthBytes() async throws {
        let harness = try EchoHarness()
        defer { harness.stop() }
        let response = try await HTTPProbe.get(port: harness.port, path: "/healthz")
        #expect(response.status == 200)
        #expect(response.headers["content-type"]?.hasPrefix("application/json") == true)
        #expect(response.body == EchoHarness.healthBody)
        #expect(response.headers["x-content-type-options"] == "nosniff")
    }

    /// A missing file is a 404, not a crash or a hang.
    @Test func missingFileIs404() async throws {
        let harness = try EchoHarness()
        defer { harness.stop() }
        let response = try await HTTPProbe.get(port: harness.port, path: "/nope.html")
        #expect(response.status == 404)
    }

    /// A WebSocket upgrade on any path but webSocketPath is refused with 403.
    @Test func upgradeOnOtherPathIsRefused() async throws {
        let harness = try EchoHarness()
        defer { harness.stop() }
        await #expect(throws: WebSocketClientError.handshakeRejected(status: 403)) {
            _ = try await harness.connect(path: "/notws")
        }
    }

    /// A foreign Origin is refused; a listed one, the server's own, and no Origin pass.
    @Test func foreignOriginIsRefusedWhileListedSameAndNoOriginPass() async throws {
        let listed = "https://bank.example"
        let harness = try EchoHarness { $0.allowedOrigins = [listed] }
        defer { harness.stop() }
        await #expect(throws: WebSocketClientError.handshakeRejected(status: 403)) {
            _ = try await harness.connect(origin: "https://evil.example")
        }
        for origin in [listed, "http://127.0.0.1:\(harness.port)", nil] {
            let client = try await harness.connect(origin: origin)
            try await client.send("hi")
            #expect(try await client.receiveText() == "hi")
            client.close()
        }
    }

    /// A client that asks for no subprotocol is still served (and is told none).
    @Test func clientWithoutSubprotocolIsServed() async throws {
        let harness = try EchoHarness()
        defer { harness.stop() }
        let client = try await harness.connect(subprotocol: nil)
        try await client.send("plain")
        #expect(try await client.receiveText() == "plain")
        client.close()
    }
}
