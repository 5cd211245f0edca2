/// The line layer of one SMTP conversation: commands out, replies in, over plain TCP until STARTTLS and over
/// TLS after it. Each reply must arrive completely within `replyTimeout`; each write must finish within it.
///
/// Not Sendable: a conversation runs start to finish on one thread.
final class SMTPConnection {
    private let socket: TCPSocket
    private var tls: TLSChannel?
    private let replyTimeout: Duration
    /// Bytes received and not yet consumed as reply lines.
    private var buffer: [UInt8] = []
    private var parser = SMTPReplyParser()

    init(socket: TCPSocket, replyTimeout: Duration) {
        self.socket = socket
        self.replyTimeout = replyTimeout
    }

    var isEncrypted: Bool { tls != nil }

    /// Reads the next complete reply (one or more lines).
    func readReply() throws(SMTPError) -> SMTPReply {
        let deadline = Deadline.after(replyTimeout)
        while true {
            let line = try readLine(until: deadline)
            if let reply = try parser.feed(line) { return reply }
        }
    }

    /// Sends one command line (CRLF appended) and reads its reply.
    func command(_ line: String) throws(SMTPError) -> SMTPReply {
        precondition(!line.utf8.contains(13) && !line.utf8.contains(10), "a command is one line")
        try write(Array((line + "\r\n").utf8))
        return try readReply()
    }

    /// Sends raw bytes (the DATA body).
    func write(_ bytes: [UInt8]) throws(SMTPError) {
        let deadline = Deadline.after(replyTimeout)
        let result: Result<Void, SMTPError> = bytes.withUnsafeBytes { raw in
            Result { () throws(SMTPError) in
                if let tls { try tls.write(raw, until: deadline) } else { try socket.write(raw, until: deadline) }
            }
        }
        try result.get()
    }

    /// Upgrades the connection after the server's 220 to STARTTLS. Anything the server sent after that reply
    /// and before the handshake would be plaintext injected into the encrypted session, so it is refused.
    func startTLS(context: TLSContext, serverName: String) throws(SMTPError) {
        precondition(tls == nil, "STARTTLS happens once")
        guard buffer.isEmpty else {
            throw SMTPError(.malformedReply, "the server sent data after its STARTTLS reply, before the handshake")
        }
        tls = try TLSChannel(context: context, socket: socket, serverName: serverName,
                             deadline: .after(replyTimeout))
    }

    /// Ends TLS politely; the socket closes when the connection is released.
    func close() {
        tls?.close()
    }

    /// The next line without its CRLF (a bare LF is accepted as an end of line too).
    private func readLine(until deadline: Deadline) throws(SMTPError) -> [UInt8] {
        var searched = 0
        while true {
            if let end = buffer[searched...].firstIndex(of: 10) {
                var line = Array(buffer[..<end])
                buffer.removeFirst(end + 1)
                if line.last == 13 { line.removeLast() }
                return line
            }
            searched = buffer.count
            guard buffer.count < SMTPReply.lineBytesMax else {
                throw SMTPError(.malformedReply, "a reply line is longer than \(SMTPReply.lineBytesMax) bytes")
            }
            try fill(until: deadline)
        }
    }

    private func fill(until deadline: Deadline) throws(SMTPError) {
        var chunk = [UInt8](repeating: 0, count: 4_096)
        let result: Result<Int, SMTPError> = chunk.withUnsafeMutableBytes { raw in
            Result { () throws(SMTPError) in
                if let tls { try tls.read(into: raw, until: deadline) } else { try socket.read(into: raw, until: deadline) }
            }
        }
        let count = try result.get()
        guard count > 0 else { throw SMTPError(.connectionClosed, "the server closed the connection") }
        buffer.append(contentsOf: chunk[..<count])
    }
}
