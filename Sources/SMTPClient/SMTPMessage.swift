import Glibc

/// A plain-text e-mail: envelope addresses, a subject and a UTF-8 body.
///
/// `render` produces the RFC 5322 message: From, To, Subject (RFC 2047 encoded when not ASCII), Date,
/// Message-ID, MIME-Version and `Content-Type: text/plain; charset=utf-8`, then the body with CRLF line
/// endings. The body goes as `8bit` when the server takes 8BITMIME and no line is longer than SMTP allows,
/// otherwise as `quoted-printable`.
public struct SMTPMessage: Sendable, Equatable {
    /// The sender's address, used in MAIL FROM and the From header.
    public var from: String
    /// The recipients' addresses, each in RCPT TO and together in the To header.
    public var to: [String]
    public var subject: String
    public var body: String
    /// Seconds since the Unix epoch for the Date header; nil means the time of sending.
    public var date: Int?
    /// The Message-ID without angle brackets; nil means a random one at the sender's domain.
    public var messageID: String?

    public init(from: String, to: [String], subject: String, body: String, date: Int? = nil,
                messageID: String? = nil) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.date = date
        self.messageID = messageID
    }

    /// How the body is written on the wire.
    enum BodyEncoding: String {
        case eightBit = "8bit"
        case quotedPrintable = "quoted-printable"
    }

    /// Checks what would let a message break the protocol or inject headers: every address is printable
    /// ASCII without spaces or angle brackets and there is at least one recipient.
    func validate() throws(SMTPError) {
        guard !to.isEmpty else { throw SMTPError(.invalidMessage, "a message needs at least one recipient") }
        for address in [from] + to {
            let bytes = Array(address.utf8)
            guard !bytes.isEmpty, bytes.count <= 254,
                  bytes.allSatisfy({ (33...126).contains($0) && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") }) else {
                throw SMTPError(.invalidMessage, "address \(address.debugDescription) is not a plain ASCII address")
            }
        }
        if let messageID {
            guard messageID.utf8.allSatisfy({ (33...126).contains($0) && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") }) else {
                throw SMTPError(.invalidMessage, "message id \(messageID.debugDescription) is not printable ASCII")
            }
        }
    }

    /// The encoding `render` will use given whether the server announced 8BITMIME.
    func bodyEncoding(serverAccepts8BitMIME: Bool) -> BodyEncoding {
        let fits = MIMEEncoding.lines(body).allSatisfy { $0.count <= MIMEEncoding.lineBytesMax }
        return serverAccepts8BitMIME && fits ? .eightBit : .quotedPrintable
    }

    /// The whole message, headers and body, with CRLF line endings and a final CRLF (not yet dot-stuffed).
    func render(encoding: BodyEncoding, now: Int) -> [UInt8] {
        let headers = [
            "From: " + from,
            "To: " + to.joined(separator: ",\r\n "),
            "Subject: " + MIMEEncoding.headerText(subject),
            "Date: " + MIMEEncoding.date(secondsSinceEpoch: date ?? now),
            "Message-ID: <" + (messageID ?? Self.randomMessageID(domain: domain)) + ">",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: " + encoding.rawValue,
        ]
        var out = Array((headers.joined(separator: "\r\n") + "\r\n\r\n").utf8)
        let lines = MIMEEncoding.lines(body)
        switch encoding {
        case .eightBit:
            for line in lines {
                out.append(contentsOf: line)
                out.append(contentsOf: [13, 10])
            }
        case .quotedPrintable:
            out.append(contentsOf: MIMEEncoding.quotedPrintable(lines))
        }
        return out
    }

    /// The sender's domain, for Message-IDs; "localhost" when the address has none.
    private var domain: String {
        guard let at = from.lastIndex(of: "@") else { return "localhost" }
        let domain = from[from.index(after: at)...]
        return domain.isEmpty ? "localhost" : String(domain)
    }

    /// 128 random bits in hex plus the time: unique without coordination.
    static func randomMessageID(domain: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<2).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
        return "\(time(nil)).\(random)@\(domain)"
    }
}
