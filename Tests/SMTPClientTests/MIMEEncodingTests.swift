import Foundation
@testable import SMTPClient
import Testing

/// The pure parts of the client: line endings, dot-stuffing, quoted-printable, encoded words, Base64, dates
/// and the reply parser.
@Suite struct MIMEEncodingTests {
    /// LF, CR and CRLF all end a line; a trailing line ending does not add an empty line.
    @Test func splitsLinesOnEveryLineEnding() {
        let lines = MIMEEncoding.lines("a\nb\r\nc\rd\n").map { String(decoding: $0, as: UTF8.self) }
        #expect(lines == ["a", "b", "c", "d"])
        #expect(MIMEEncoding.lines("a\n\nb").map { $0.count } == [1, 0, 1])
    }

    /// Every line that starts with "." gets a second one, and DATA ends with ".\r\n".
    @Test func dotStuffsLinesStartingWithADot() {
        let stuffed = MIMEEncoding.dotStuffed(Array(".one\r\ntwo.\r\n..three\r\n.\r\n".utf8))
        #expect(String(decoding: stuffed, as: UTF8.self) == "..one\r\ntwo.\r\n...three\r\n..\r\n.\r\n")
    }

    /// Quoted-printable: "=" and 8-bit bytes escaped, trailing space escaped, no line over 76 characters.
    @Test func encodesQuotedPrintable() {
        let encoded = String(decoding: MIMEEncoding.quotedPrintable(MIMEEncoding.lines("a=b café \n\tx")), as: UTF8.self)
        #expect(encoded == "a=3Db caf=C3=A9=20\r\n\tx\r\n")
        let long = String(decoding: MIMEEncoding.quotedPrintable([ArraySlice(Array(String(repeating: "é", count: 100).utf8))]),
                          as: UTF8.self)
        let lines = long.components(separatedBy: "\r\n").dropLast()
        #expect(lines.allSatisfy { $0.count <= 76 })
        #expect(lines.dropLast().allSatisfy { $0.hasSuffix("=") })
        let unfolded = lines.map { $0.hasSuffix("=") ? String($0.dropLast()) : $0 }.joined()
        #expect(unfolded == String(repeating: "=C3=A9", count: 100))
    }

    /// ASCII header text stays as is; other text becomes UTF-8 encoded words that never split a character.
    @Test func encodesNonASCIIHeaderTextAsEncodedWords() {
        #expect(MIMEEncoding.headerText("New login to BankHub") == "New login to BankHub")
        #expect(MIMEEncoding.headerText("a\r\nBcc: eve@example.com") == "a Bcc: eve@example.com")
        let encoded = MIMEEncoding.headerText(String(repeating: "€", count: 30))
        let words = encoded.components(separatedBy: "\r\n ")
        #expect(words.count == 3)
        #expect(words.allSatisfy { $0.hasPrefix("=?utf-8?B?") && $0.hasSuffix("?=") && $0.count <= 75 })
    }

    /// RFC 4648 test vectors.
    @Test func encodesBase64() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=",
                       "foobar": "Zm9vYmFy"]
        for (input, output) in vectors { #expect(MIMEEncoding.base64(Array(input.utf8)) == output) }
        #expect(MIMEEncoding.base64([0] + Array("ana".utf8) + [0] + Array("pw".utf8)) == "AGFuYQBwdw==")
    }

    /// Dates are RFC 5322 in UTC.
    @Test func formatsRFC5322Dates() {
        #expect(MIMEEncoding.date(secondsSinceEpoch: 0) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(MIMEEncoding.date(secondsSinceEpoch: 1_772_528_700) == "Tue, 03 Mar 2026 09:05:00 +0000")
    }

    /// The rendered message carries every required header and CRLF line endings only.
    @Test func rendersHeadersAndBody() {
        let message = SMTPMessage(from: "bankhub@bank.test", to: ["a@x.test", "b@y.test"], subject: "Hi",
                                  body: "one\ntwo", date: 0, messageID: "id-1@bank.test")
        let text = String(decoding: message.render(encoding: .eightBit, now: 99), as: UTF8.self)
        #expect(text == "From: bankhub@bank.test\r\nTo: a@x.test,\r\n b@y.test\r\nSubject: Hi\r\n"
                + "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\nMessage-ID: <id-1@bank.test>\r\nMIME-Version: 1.0\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\none\r\ntwo\r\n")
        #expect(message.bodyEncoding(serverAccepts8BitMIME: false) == .quotedPrintable)
    }

    /// Multi-line replies are assembled; the code must stay the same on every line.
    @Test func parsesMultilineReplies() throws {
        var parser = SMTPReplyParser()
        #expect(try parser.feed(Array("250-peer.test".utf8)) == nil)
        #expect(try parser.feed(Array("250-AUTH PLAIN LOGIN".utf8)) == nil)
        let reply = try #require(try parser.feed(Array("250 8BITMIME".utf8)))
        #expect(reply == SMTPReply(code: 250, lines: ["peer.test", "AUTH PLAIN LOGIN", "8BITMIME"]))
        let capabilities = SMTPSession.Capabilities(ehlo: reply)
        #expect(capabilities.authMechanisms == ["PLAIN", "LOGIN"] && capabilities.eightBitMIME && !capabilities.startTLS)
        #expect(try parser.feed(Array("220".utf8)) == SMTPReply(code: 220, lines: [""]))
    }

    /// Lines that are not replies, and a code that changes mid-reply, are malformed.
    @Test func rejectsMalformedReplies() {
        for line in ["HTTP/1.1 400", "25", "650 nope", "250_x"] {
            var parser = SMTPReplyParser()
            #expect(throws: SMTPError.self) { try parser.feed(Array(line.utf8)) }
        }
        var parser = SMTPReplyParser()
        _ = try? parser.feed(Array("250-a".utf8))
        #expect(throws: SMTPError.self) { try parser.feed(Array("251 b".utf8)) }
    }
}
