import Foundation
import Glibc
import SMTPClient
import SMTPTestPeer
import Testing

/// SMTPClient against a real SMTP server (aiosmtpd in a child process): plain delivery, STARTTLS with and
/// without certificate checks, AUTH PLAIN and LOGIN, and the failures a caller must be able to tell apart.
@Suite struct SMTPDeliveryTests {
    static let body = """
        Hello Ana,

        .a line that starts with a dot
        ..and one with two
        .
        Grüße, naïve café — 10 € — 日本語
        last line
        """

    func message(to recipients: [String] = ["ana@example.com"], body: String = Self.body) -> SMTPMessage {
        SMTPMessage(from: "bankhub@localhost", to: recipients, subject: "Überweisung erhalten: 25.00 € ✓", body: body)
    }

    /// A message arrives with its envelope, subject and body intact, dots and non-ASCII included.
    @Test func deliversSubjectAndBodyIntact() async throws {
        let peer = try await SMTPPeer.start()
        defer { peer.stop() }
        let client = try SMTPClient(configuration: SMTPConfiguration(host: "127.0.0.1", port: peer.port))
        try await client.send(message(to: ["ana@example.com", "ben@example.org"]))
        let received = try #require(try await peer.waitForMessages(1).first)
        #expect(received.mailFrom == "bankhub@localhost")
        #expect(received.recipients == ["ana@example.com", "ben@example.org"])
        #expect(received.subject == "Überweisung erhalten: 25.00 € ✓")
        #expect(received.body == Self.body + "\n")
        #expect(received.headers["Content-Type"] == "text/plain; charset=\"utf-8\"")
        #expect(received.headers["Content-Transfer-Encoding"] == "8bit")
        #expect(received.headers["MIME-Version"] == "1.0")
        #expect(received.headers["Message-ID"]?.hasSuffix("@localhost>") == true)
        #expect(received.headers["Date"]?.hasSuffix("+0000") == true)
        #expect(!received.tls)
    }

    /// A line longer than SMTP allows goes quoted-printable and still arrives byte for byte.
    @Test func sendsOverlongLinesAsQuotedPrintable() async throws {
        let peer = try await SMTPPeer.start()
        defer { peer.stop() }
        let long = String(repeating: "ünïcödé and = signs ", count: 80)
        let client = try SMTPClient(configuration: SMTPConfiguration(host: "127.0.0.1", port: peer.port))
        try await client.send(message(body: long + "\n.\nend"))
        let received = try #require(try await peer.waitForMessages(1).first)
        #expect(received.headers["Content-Transfer-Encoding"] == "quoted-printable")
        #expect(received.body == long + "\n.\nend\n")
        let encodedBody = try #require(received.raw.components(separatedBy: "\r\n\r\n").last)
        #expect(encodedBody.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 76 })
    }

    /// STARTTLS, the certificate verified against its CA file for 127.0.0.1, then AUTH PLAIN.
    @Test func startTLSWithVerifiedCertificateAndAuthPlain() async throws {
        let peer = try await SMTPPeer.start(.init(startTLS: true, auth: ("ana", "s3cret pass")))
        defer { peer.stop() }
        var configuration = SMTPConfiguration(host: "127.0.0.1", port: peer.port)
        configuration.startTLS = true
        configuration.caFile = peer.certificatePath
        configuration.credentials = .init(username: "ana", password: "s3cret pass")
        try await SMTPClient(configuration: configuration).send(message())
        let received = try #require(try await peer.waitForMessages(1).first)
        #expect(received.tls)
        #expect(received.authUser == "ana")
        #expect(received.body == Self.body + "\n")
    }

    /// With verification off (a local test peer), a self-signed certificate is accepted; AUTH LOGIN is used
    /// when the server offers only LOGIN.
    @Test func startTLSWithoutVerificationAndAuthLogin() async throws {
        let peer = try await SMTPPeer.start(.init(startTLS: true, auth: ("ana", "pw"), mechanisms: "LOGIN"))
        defer { peer.stop() }
        var configuration = SMTPConfiguration(host: "localhost", port: peer.port)
        configuration.startTLS = true
        configuration.verifyCertificate = false
        configuration.credentials = .init(username: "ana", password: "pw")
        try await SMTPClient(configuration: configuration).send(message())
        let received = try #require(try await peer.waitForMessages(1).first)
        #expect(received.tls)
        #expect(received.authUser == "ana")
    }

    /// A wrong password is the server's 535, carried in the error with its text.
    @Test func rejectsWrongPasswordWith535() async throws {
        let peer = try await SMTPPeer.start(.init(startTLS: true, auth: ("ana", "right")))
        defer { peer.stop() }
        var configuration = SMTPConfiguration(host: "127.0.0.1", port: peer.port)
        configuration.startTLS = true
        configuration.caFile = peer.certificatePath
        configuration.credentials = .init(username: "ana", password: "wrong")
        let error = await #expect(throws: SMTPError.self) {
            try await SMTPClient(configuration: configuration).send(message())
        }
        #expect(error?.code == .rejected)
        #expect(error?.replyCode == 535)
        #expect(error?.replyText?.isEmpty == false)
        #expect(error?.isTransient == false)
        #expect(error.map { !"\($0)".contains("wrong") } == true, "the password must not appear in the error")
        #expect(try peer.received().isEmpty)
    }

    /// A self-signed certificate fails verification against the system CAs: a TLS error, nothing sent.
    @Test func rejectsUntrustedCertificateWhenVerifying() async throws {
        let peer = try await SMTPPeer.start(.init(startTLS: true))
        defer { peer.stop() }
        var configuration = SMTPConfiguration(host: "127.0.0.1", port: peer.port)
        configuration.startTLS = true
        let error = await #expect(throws: SMTPError.self) {
            try await SMTPClient(configuration: configuration).send(message())
        }
        #expect(error?.code == .tlsFailed)
        #expect(try peer.received().isEmpty)
    }

    /// STARTTLS required but not offered: refused before any credentials or mail leave.
    @Test func rejectsMissingStartTLS() async throws {
        let peer = try await SMTPPeer.start()
        defer { peer.stop() }
        var configuration = SMTPConfiguration(host: "127.0.0.1", port: peer.port)
        configuration.startTLS = true
        let error = await #expect(throws: SMTPError.self) {
            try await SMTPClient(configuration: configuration).send(message())
        }
        #expect(error?.code == .startTLSUnavailable)
    }

    /// Nothing listening: a connection error (transient, so worth retrying), promptly.
    @Test func refusedConnectionFailsCleanly() async throws {
        let client = try SMTPClient(configuration: SMTPConfiguration(host: "127.0.0.1", port: try SMTPPeer.unusedPort()))
        let error = await #expect(throws: SMTPError.self) { try await client.send(message()) }
        #expect(error?.code == .connectionFailed)
        #expect(error?.replyCode == nil)
        #expect(error?.isTransient == true)
    }

    /// A server that accepts the connection but never greets: the reply timeout ends the wait.
    @Test func silentServerTimesOut() async throws {
        let listener = try SMTPPeer.silentListener()
        defer { close(listener.descriptor) }
        var configuration = SMTPConfiguration(host: "127.0.0.1", port: listener.port)
        configuration.replyTimeout = .milliseconds(300)
        let error = await #expect(throws: SMTPError.self) {
            try await SMTPClient(configuration: configuration).send(message())
        }
        #expect(error?.code == .timedOut)
    }

    /// An address that could smuggle a header or command is refused before connecting.
    @Test func rejectsAddressesWithLineBreaks() async throws {
        let client = try SMTPClient(configuration: SMTPConfiguration(host: "127.0.0.1", port: try SMTPPeer.unusedPort()))
        let error = await #expect(throws: SMTPError.self) {
            try await client.send(message(to: ["ana@example.com>\r\nRCPT TO:<eve@example.com"]))
        }
        #expect(error?.code == .invalidMessage)
    }
}
