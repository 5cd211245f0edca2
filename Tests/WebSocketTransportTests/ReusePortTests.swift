import Testing
import WebSocketClient
import WebSocketTransport

/// `reusePort` (SO_REUSEPORT on a listening socket the transport makes itself): several hub processes listen on
/// one port and the kernel spreads connections among them.
@Suite(.serialized) struct ReusePortTests {
    /// Without the option a second server on a taken port fails with `.addressInUse`.
    @Test func secondServerOnTakenPortFailsWithoutReusePort() async throws {
        let first = try EchoHarness()
        defer { first.stop() }
        #expect {
            _ = try EchoHarness { $0.port = first.port }
        } throws: { error in
            (error as? WebSocketServerError)?.code == .addressInUse
        }
    }

    /// A reuse-port server cannot join a port held by a server without the option (the kernel shares a port
    /// only among sockets that all ask for it), and the reverse fails too.
    @Test func reusePortCannotJoinAPortHeldWithoutIt() async throws {
        let plain = try EchoHarness()
        defer { plain.stop() }
        #expect {
            _ = try EchoHarness { $0.port = plain.port; $0.reusePort = true }
        } throws: { error in
            (error as? WebSocketServerError)?.code == .addressInUse
        }
        let shared = try EchoHarness { $0.reusePort = true }
        defer { shared.stop() }
        #expect {
            _ = try EchoHarness { $0.port = shared.port }
        } throws: { error in
            (error as? WebSocketServerError)?.code == .addressInUse
        }
    }

    /// Two servers with the option share a port (asked as 0, read back), and the survivor serves after one stops.
    @Test func twoServersShareOnePortAndSurviveOneStopping() async throws {
        let first = try EchoHarness { $0.reusePort = true }
        let second = try EchoHarness { $0.port = first.port; $0.reusePort = true }
        defer { second.stop() }
        #expect(first.port != 0 && second.port == first.port)
        for index in 0..<40 { try await echoOnce(port: first.port, text: "before \(index)") }
        first.stop()
        for index in 0..<20 { try await echoOnce(port: second.port, text: "after \(index)") }
    }

    /// The kernel spreads 40 connections (distinct source ports) over both servers: each gets some, none is lost.
    @Test func bothServersReceiveConnections() async throws {
        let first = try EchoHarness { $0.reusePort = true }
        let second = try EchoHarness { $0.port = first.port; $0.reusePort = true }
        defer { first.stop(); second.stop() }
        var clients: [WebSocketConnection] = []
        for index in 0..<40 {
            let client = try await first.connect()
            try await client.send("hello \(index)")
            #expect(try await client.receiveText() == "hello \(index)")
            clients.append(client)
        }
        let counts = (first.server.connectionCount, second.server.connectionCount)
        #expect(counts.0 + counts.1 == 40)
        #expect(counts.0 > 0 && counts.1 > 0, "one server got every connection: \(counts)")
        for client in clients { client.close() }
    }

    /// Once both reuse-port servers stopped, the port is free again: the listening sockets were closed.
    @Test func stoppedServersReleaseThePort() async throws {
        let first = try EchoHarness { $0.reusePort = true }
        let second = try EchoHarness { $0.port = first.port; $0.reusePort = true }
        let port = first.port
        first.stop()
        second.stop()
        let plain = try EchoHarness { $0.port = port }
        defer { plain.stop() }
        try await echoOnce(port: port, text: "port released")
    }

    /// A reuse-port server works on the poll loop too (the other tests run on the default, libev).
    @Test func sharedListenerServesOnThePollLoop() async throws {
        let first = try EchoHarness { $0.reusePort = true; $0.eventLoop = .poll }
        let second = try EchoHarness { $0.port = first.port; $0.reusePort = true; $0.eventLoop = .poll }
        defer { first.stop(); second.stop() }
        for index in 0..<20 { try await echoOnce(port: first.port, text: "poll \(index)") }
    }

    /// A reuse-port server whose context cannot be made (a missing TLS certificate) says so, not "address in
    /// use" (its own listener holds the port), and leaves the port free.
    @Test func failedContextIsNotReportedAsAddressInUse() async throws {
        let plain = try EchoHarness()
        let port = plain.port
        plain.stop()
        #expect {
            _ = try EchoHarness {
                $0.port = port
                $0.reusePort = true
                $0.tlsCertificatePath = "/nonexistent/bankhub-cert.pem"
                $0.tlsPrivateKeyPath = "/nonexistent/bankhub-key.pem"
            }
        } throws: { error in
            (error as? WebSocketServerError)?.code == .contextCreationFailed
        }
        let again = try EchoHarness { $0.port = port }
        again.stop()
    }

    /// One connection that sends `text` and expects it echoed, then closes.
    private func echoOnce(port: Int, text: String) async throws {
        let client = try await WebSocketConnection.connect(host: "127.0.0.1", port: port, path: "/ws",
                                                           subprotocol: "bankhub.v1", origin: nil,
                                                           receiveBufferBytes: nil)
        try await client.send(text)
        #expect(try await client.receiveText() == text)
        client.close()
    }
}
