import BankBus
import NATSTestPeer
import Testing

/// Credentials in the URLs (user and password, or a token), TLS options, and keeping the secrets out of
/// everything shown.
struct NATSCredentialsTests {
    /// Shown URLs keep the user and the host, never the password or the token.
    @Test func shownURLsMaskTheSecrets() {
        #expect(NATSConfiguration.redacted("nats://hub:s3cret@10.0.0.1:4222") == "nats://hub:***@10.0.0.1:4222")
        #expect(NATSConfiguration.redacted("tls://t0ken@nats.example:4222") == "tls://***@nats.example:4222")
        #expect(NATSConfiguration.redacted("nats://10.0.0.1:4222") == "nats://10.0.0.1:4222")
        let configuration = NATSConfiguration(urls: ["nats://hub:s3cret@a:4222", "nats://t0ken@b:4222"])
        #expect(configuration.displayURLs == "nats://hub:***@a:4222,nats://***@b:4222")
        #expect(configuration.scrub("refused hub:s3cret and t0ken") == "refused hub:*** and ***")
    }

    /// `tls://` for some servers only, or a CA file without TLS, is refused before anything is opened, and
    /// the message shows no secret.
    @Test func mixedOrMisplacedTLSIsRefused() {
        #expect {
            _ = try NATSConnection(.init(urls: ["tls://hub:s3cret@a:4222", "nats://hub:s3cret@b:4222"]))
        } throws: { error in
            (error as? BusError)?.code == .invalidConfiguration && !"\(error)".contains("s3cret")
        }
        var configuration = NATSConfiguration(urls: ["nats://a:4222"])
        configuration.caFile = "/etc/ssl/certs/ca-certificates.crt"
        #expect {
            _ = try NATSConnection(configuration)
        } throws: { error in
            (error as? BusError)?.code == .invalidConfiguration && "\(error)".contains("tls://")
        }
    }

    /// A CA file that cannot be loaded is an error that names it (not a silent plain-text link).
    @Test func unreadableCAFileIsNamed() {
        var configuration = NATSConfiguration(urls: ["tls://127.0.0.1:4222"])
        configuration.caFile = "/nonexistent/bus-ca.pem"
        #expect {
            _ = try NATSConnection(configuration)
        } throws: { error in
            "\(error)".contains("/nonexistent/bus-ca.pem")
        }
    }

    /// A server that wants a user and password: the right ones connect and carry messages; a wrong password
    /// never connects, and the connection says why (the server's `Authorization Violation`) without the password.
    @Test func userAndPasswordInTheURL() async throws {
        let peer = try await NATSPeer.start(auth: .user("hub", password: "right-pass"))
        let sender = try NATSConnection(.init(urls: [peer.url(user: "hub", password: "right-pass")]))
        let receiver = try NATSConnection(.init(urls: [peer.url(user: "hub", password: "right-pass")]))
        let refused = try NATSConnection(.init(urls: [peer.url(user: "hub", password: "wrong-pass")]))
        defer { sender.close(); receiver.close(); refused.close() }
        #expect(sender.isConnected && receiver.isConnected && sender.lastError == nil)
        let subscription = try receiver.subscribe("events.>")
        try receiver.flush()
        try sender.publish("events.a", Array("hello".utf8))
        try sender.flush()
        var iterator = subscription.messages.makeAsyncIterator()
        #expect(await iterator.next() == BusMessage(subject: "events.a", payload: Array("hello".utf8)))

        let why = try await lastError(of: refused, within: .seconds(10))
        #expect(!refused.isConnected, "\(why ?? "nil")")
        #expect(why?.lowercased().contains("authorization violation") == true, "\(why ?? "nil")")
        #expect(why?.contains("wrong-pass") == false)
    }

    /// A server that wants a token: the token before the host connects.
    @Test func tokenInTheURL() async throws {
        let peer = try await NATSPeer.start(auth: .token("t0ken-right"))
        let connection = try NATSConnection(.init(urls: [peer.url(token: "t0ken-right")]))
        defer { connection.close() }
        #expect(connection.isConnected)
        try connection.flush()
    }

    /// A TLS-only server whose certificate a test CA signed for `localhost`: `tls://` with that CA file connects
    /// and carries messages; without it (the system's trust store) the handshake fails, and a certificate for
    /// another name is refused even with the right CA (the host name is checked).
    @Test func tlsWithACAFile() async throws {
        let certificates = try TestCertificates.make(host: "localhost")
        let peer = try await NATSPeer.start(tls: certificates)
        var configuration = NATSConfiguration(urls: ["tls://localhost:\(peer.port)"])
        configuration.caFile = certificates.caFile
        #expect(configuration.tlsHostname == "localhost")
        let connection = try NATSConnection(configuration)
        defer { connection.close() }
        #expect(connection.isConnected, "\(connection.lastError ?? "nil")")
        let subscription = try connection.subscribe("events.>")
        try connection.flush()
        try connection.publish("events.tls", Array("sealed in transit".utf8))
        var iterator = subscription.messages.makeAsyncIterator()
        #expect(await iterator.next() == BusMessage(subject: "events.tls", payload: Array("sealed in transit".utf8)))

        let untrusted = try NATSConnection(.init(urls: ["tls://localhost:\(peer.port)"]))
        defer { untrusted.close() }
        #expect(!untrusted.isConnected)
        #expect(try await lastError(of: untrusted, within: .seconds(10))?.contains("SSL handshake error") == true)

        let other = try TestCertificates.make(host: "nats.example")
        let impostor = try await NATSPeer.start(tls: other)
        var misnamed = NATSConfiguration(urls: ["tls://localhost:\(impostor.port)"])
        misnamed.caFile = other.caFile
        let refused = try NATSConnection(misnamed)
        defer { refused.close() }
        #expect(!refused.isConnected)
        #expect(try await lastError(of: refused, within: .seconds(10))?.contains("hostname mismatch") == true)
    }

    /// A plain URL to a TLS-only server, or `tls://` to a plain one, does not connect.
    @Test func tlsMismatchDoesNotConnect() async throws {
        let plain = try await NATSPeer.start()
        let connection = try NATSConnection(.init(urls: ["tls://localhost:\(plain.port)"]))
        defer { connection.close() }
        #expect(!connection.isConnected)
        #expect(try await lastError(of: connection, within: .seconds(10)) != nil)
    }

    /// Polls `lastError` (generous deadline: libnats retries in the background).
    private func lastError(of connection: NATSConnection, within limit: Duration) async throws -> String? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let error = connection.lastError { return error }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }
}
