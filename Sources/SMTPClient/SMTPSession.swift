import Glibc

/// One SMTP conversation from greeting to QUIT (RFC 5321): EHLO, optional STARTTLS and a second EHLO,
/// optional AUTH PLAIN or LOGIN (RFC 4954), then MAIL FROM, RCPT TO and DATA for one message.
///
/// Runs synchronously on the caller's thread; every wait is bounded by the configuration's timeouts.
struct SMTPSession {
    let configuration: SMTPConfiguration
    let tlsContext: TLSContext?

    /// What the server announced in its EHLO reply.
    struct Capabilities {
        var startTLS = false
        var eightBitMIME = false
        var authMechanisms: Set<String> = []

        init(ehlo reply: SMTPReply) {
            for line in reply.lines.dropFirst() {
                let words = line.uppercased().split(separator: " ").map(String.init)
                switch words.first {
                case "STARTTLS": startTLS = true
                case "8BITMIME": eightBitMIME = true
                case "AUTH": authMechanisms.formUnion(words.dropFirst())
                default: break
                }
            }
        }

        init() {}
    }

    func deliver(_ message: SMTPMessage) throws(SMTPError) {
        try message.validate()
        let socket = try TCPSocket.connect(host: configuration.host, port: configuration.port,
                                           timeout: configuration.connectTimeout)
        let connection = SMTPConnection(socket: socket, replyTimeout: configuration.replyTimeout)
        defer { connection.close() }
        try expect(connection.readReply(), 220, "greeting")
        var capabilities = try hello(connection)
        if configuration.startTLS {
            guard capabilities.startTLS, let tlsContext else {
                throw SMTPError(.startTLSUnavailable, "\(configuration.host) does not offer STARTTLS")
            }
            try expect(connection.command("STARTTLS"), 220, "STARTTLS")
            try connection.startTLS(context: tlsContext, serverName: configuration.host)
            capabilities = try hello(connection)
        }
        if let credentials = configuration.credentials {
            try authenticate(credentials, capabilities, connection)
        }
        try transfer(message, capabilities, connection)
        // The message is accepted; a failed QUIT changes nothing about that.
        _ = try? connection.command("QUIT")
    }

    /// EHLO, falling back to HELO (no extensions) for a server that does not know EHLO.
    private func hello(_ connection: SMTPConnection) throws(SMTPError) -> Capabilities {
        let reply = try connection.command("EHLO " + configuration.clientName)
        if reply.code == 250 { return Capabilities(ehlo: reply) }
        guard (500..<600).contains(reply.code) else { throw .rejected("EHLO", reply) }
        try expect(connection.command("HELO " + configuration.clientName), 250, "HELO")
        return Capabilities()
    }

    /// AUTH PLAIN when offered, else AUTH LOGIN. Credentials go only over TLS or to this machine.
    private func authenticate(_ credentials: SMTPConfiguration.Credentials, _ capabilities: Capabilities,
                              _ connection: SMTPConnection) throws(SMTPError) {
        guard connection.isEncrypted || Self.isLoopback(configuration.host) else {
            throw SMTPError(.insecureAuthentication,
                            "refusing to send credentials to \(configuration.host) without TLS; enable STARTTLS")
        }
        let user = Array(credentials.username.utf8), password = Array(credentials.password.utf8)
        if capabilities.authMechanisms.contains("PLAIN") {
            let token = MIMEEncoding.base64([0] + user + [0] + password)
            try expect(connection.command("AUTH PLAIN " + token), 235, "AUTH PLAIN")
        } else if capabilities.authMechanisms.contains("LOGIN") {
            try expect(connection.command("AUTH LOGIN"), 334, "AUTH LOGIN")
            try expect(connection.command(MIMEEncoding.base64(user)), 334, "AUTH LOGIN username")
            try expect(connection.command(MIMEEncoding.base64(password)), 235, "AUTH LOGIN password")
        } else {
            throw SMTPError(.authenticationUnavailable,
                            "\(configuration.host) offers no AUTH PLAIN or LOGIN (offers: "
                            + capabilities.authMechanisms.sorted().joined(separator: " ") + ")")
        }
    }

    /// MAIL FROM, one RCPT TO per recipient, DATA and the dot-stuffed message.
    private func transfer(_ message: SMTPMessage, _ capabilities: Capabilities,
                          _ connection: SMTPConnection) throws(SMTPError) {
        let encoding = message.bodyEncoding(serverAccepts8BitMIME: capabilities.eightBitMIME)
        let bodyParameter = encoding == .eightBit ? " BODY=8BITMIME" : ""
        try expect(connection.command("MAIL FROM:<\(message.from)>" + bodyParameter), 250, "MAIL FROM")
        for recipient in message.to {
            let reply = try connection.command("RCPT TO:<\(recipient)>")
            guard reply.code == 250 || reply.code == 251 else { throw .rejected("RCPT TO:<\(recipient)>", reply) }
        }
        try expect(connection.command("DATA"), 354, "DATA")
        try connection.write(MIMEEncoding.dotStuffed(message.render(encoding: encoding, now: time(nil))))
        try expect(connection.readReply(), 250, "the message")
    }

    private func expect(_ reply: SMTPReply, _ code: Int, _ command: String) throws(SMTPError) {
        guard reply.code == code else { throw .rejected(command, reply) }
    }

    private static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
