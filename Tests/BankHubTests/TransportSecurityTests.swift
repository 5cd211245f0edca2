import BankWire
import Foundation
import Testing
import WebSocketClient

/// TLS (https and wss with a self-signed certificate), the Origin allow-list and the security headers on
/// static responses, against the real hub.
@Suite(.serialized) struct TransportSecurityTests {
    /// Runs a program to completion and returns its standard output; fails the test on a non-zero exit.
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(executable) failed: \(text)")
        return text
    }

    /// Over TLS, a real client (Python `websockets` with the certificate as its trust anchor) signs up on
    /// wss://, and https responses carry HSTS.
    @Test func servesWSSAndHTTPSWithASelfSignedCertificate() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bankhub-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cert = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        _ = try Self.run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                                     "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert])
        try await TestHub.with(configure: {
            $0.transport.tlsCertificatePath = cert
            $0.transport.tlsPrivateKeyPath = key
        }) { hub in
            let script = """
            import asyncio, json, ssl, sys, urllib.request, websockets
            context = ssl.create_default_context(cafile=sys.argv[2])
            async def main():
                async with websockets.connect(f"wss://127.0.0.1:{sys.argv[1]}/ws", subprotocols=["bankhub.v1"], ssl=context) as ws:
                    await ws.send(json.dumps({"id": 1, "op": "signup", "args": {"username": "tls-user", "password": "correct horse battery"}}))
                    print(await ws.recv())
            asyncio.run(main())
            response = urllib.request.urlopen(f"https://127.0.0.1:{sys.argv[1]}/healthz", context=context)
            print("HSTS:", response.headers.get("Strict-Transport-Security"))
            """
            let output = try Self.run("python3", ["-c", script, String(hub.port), cert])
            let reply = try JSONParser.parse(String(output.split(separator: "\n").first ?? ""))
            #expect(reply["ok"] == true)
            #expect(reply["result"]?["user"]?["username"] == "tls-user")
            #expect(output.contains("HSTS: max-age="))
        }
    }

    /// A browser on a foreign origin is refused at the handshake; the hub's own origin, a listed origin and
    /// clients sending no Origin are let in.
    @Test func refusesForeignOrigins() async throws {
        try await TestHub.with(configure: { $0.transport.allowedOrigins = ["https://app.example"] }) { hub in
            await #expect(throws: WebSocketClientError.handshakeRejected(status: 403)) {
                _ = try await WebSocketConnection.connect(port: hub.port, path: "/ws", subprotocol: "bankhub.v1",
                                                          origin: "https://evil.example")
            }
            for origin in ["https://app.example", "http://127.0.0.1:\(hub.port)", nil] as [String?] {
                let connection = try await WebSocketConnection.connect(port: hub.port, path: "/ws",
                                                                       subprotocol: "bankhub.v1", origin: origin)
                let client = HubClient(connection)
                #expect(try await client.errorCode("accounts") == "unauthorized")
                client.close()
            }
        }
    }

    /// The page is served with a CSP that forbids inline script, nosniff, DENY framing and no referrer.
    @Test func sendsSecurityHeadersOnStaticFiles() async throws {
        try await TestHub.with { hub in
            let page = try await HTTPProbe.get(host: "127.0.0.1", port: hub.port, path: "/")
            let headers = Dictionary(uniqueKeysWithValues: page.headers.map { ($0.key.lowercased(), $0.value) })
            let csp = try #require(headers["content-security-policy"])
            #expect(csp.contains("script-src 'self'"))
            #expect(!csp.contains("unsafe-inline"))
            #expect(headers["x-content-type-options"] == "nosniff")
            #expect(headers["x-frame-options"] == "DENY")
            #expect(headers["referrer-policy"] == "no-referrer")
            #expect(headers["strict-transport-security"] == nil)
        }
    }
}
