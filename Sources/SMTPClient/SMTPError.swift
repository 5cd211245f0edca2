import Glibc

/// Why an SMTP delivery failed. A struct with a nested `Code` (not an enum) so codes can be added without
/// breaking callers that switch over them.
///
/// When the server said no, `replyCode` and `replyText` carry its answer verbatim (e.g. 535 and
/// "5.7.8 Authentication credentials invalid"); for local failures (no connection, a timeout, a TLS handshake
/// that failed) they are nil and `detail` says what happened. Passwords never appear in either.
public struct SMTPError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String

        /// The TCP connection could not be opened (refused, unreachable, unresolvable host).
        public static let connectionFailed = Code(name: "connection_failed")
        /// The connect, a reply or a write took longer than its timeout.
        public static let timedOut = Code(name: "timed_out")
        /// The server closed the connection in the middle of the conversation.
        public static let connectionClosed = Code(name: "connection_closed")
        /// The TLS handshake or a TLS read/write failed (including certificate verification).
        public static let tlsFailed = Code(name: "tls_failed")
        /// The server answered a command with an error reply; see `replyCode` and `replyText`.
        public static let rejected = Code(name: "rejected")
        /// The server sent something that is not an SMTP reply.
        public static let malformedReply = Code(name: "malformed_reply")
        /// STARTTLS was required by the configuration but the server does not offer it.
        public static let startTLSUnavailable = Code(name: "starttls_unavailable")
        /// Credentials were configured but the server offers neither AUTH PLAIN nor AUTH LOGIN.
        public static let authenticationUnavailable = Code(name: "authentication_unavailable")
        /// Credentials would travel in clear text to a host that is not this machine.
        public static let insecureAuthentication = Code(name: "insecure_authentication")
        /// The message cannot be sent as given (an address with spaces, CR/LF or non-ASCII, no recipients).
        public static let invalidMessage = Code(name: "invalid_message")

        public var description: String { name }
    }

    public let code: Code
    /// The server's reply code, when the server refused (e.g. 535, 550); nil for local failures.
    public let replyCode: Int?
    /// The server's reply text (all lines joined by "\n"), when the server refused.
    public let replyText: String?
    /// What was being done, or what went wrong locally.
    public let detail: String

    public init(_ code: Code, _ detail: String, replyCode: Int? = nil, replyText: String? = nil) {
        self.code = code
        self.detail = detail
        self.replyCode = replyCode
        self.replyText = replyText
    }

    /// The server answered `command` with `reply`, which was not what the conversation needed.
    static func rejected(_ command: String, _ reply: SMTPReply) -> SMTPError {
        SMTPError(.rejected, "\(command) refused", replyCode: reply.code, replyText: reply.text)
    }

    /// A system call failed; the detail names it with `strerror(errno)`.
    static func system(_ code: Code, _ operation: String, errno number: Int32) -> SMTPError {
        SMTPError(code, "\(operation): \(String(cString: strerror(number)))")
    }

    /// True for failures worth retrying later: timeouts, lost connections and 4xx replies. A 5xx reply or an
    /// invalid message will fail the same way again.
    public var isTransient: Bool {
        if let replyCode { return (400..<500).contains(replyCode) }
        return [.connectionFailed, .timedOut, .connectionClosed].contains(code)
    }

    public var description: String {
        var text = "SMTP \(code): \(detail)"
        if let replyCode { text += " (\(replyCode)" + (replyText.map { " \($0)" } ?? "") + ")" }
        return text
    }
}

/// One SMTP reply: a three-digit code and one or more lines of text (RFC 5321 section 4.2).
struct SMTPReply: Sendable, Equatable {
    let code: Int
    /// The text of each line, without the code and separator.
    let lines: [String]

    var text: String { lines.joined(separator: "\n") }
    var isPositiveCompletion: Bool { (200..<300).contains(code) }

    /// The longest reply line accepted, CRLF included (RFC 5321 allows 512; servers are sometimes longer).
    static let lineBytesMax = 4_096
    /// The most lines one reply may have (an EHLO reply lists one extension a line).
    static let linesMax = 128
}

/// Assembles replies from lines as they arrive. Pure: no I/O, so it is tested on its own.
struct SMTPReplyParser {
    private var code: Int?
    private var lines: [String] = []

    /// Feeds one line (without CRLF). Returns the reply once its last line arrived, nil while more follow.
    mutating func feed(_ line: [UInt8]) throws(SMTPError) -> SMTPReply? {
        guard line.count >= 3, line.prefix(3).allSatisfy({ (0x30...0x39).contains($0) }),
              (0x32...0x35).contains(line[0]) else {
            throw SMTPError(.malformedReply, "not an SMTP reply line: \(Self.printable(line))")
        }
        let lineCode = line.prefix(3).reduce(0) { $0 * 10 + Int($1 - 0x30) }
        if let code, code != lineCode {
            throw SMTPError(.malformedReply, "reply code changed from \(code) to \(lineCode) within one reply")
        }
        code = lineCode
        let separator = line.count > 3 ? line[3] : UInt8(ascii: " ")
        guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
            throw SMTPError(.malformedReply, "bad separator in reply line: \(Self.printable(line))")
        }
        lines.append(String(decoding: line.dropFirst(4), as: UTF8.self))
        guard lines.count <= SMTPReply.linesMax else {
            throw SMTPError(.malformedReply, "reply longer than \(SMTPReply.linesMax) lines")
        }
        guard separator == UInt8(ascii: " ") else { return nil }
        defer { self = SMTPReplyParser() }
        return SMTPReply(code: lineCode, lines: lines)
    }

    private static func printable(_ line: [UInt8]) -> String {
        String(decoding: line.prefix(80), as: UTF8.self).debugDescription
    }
}
