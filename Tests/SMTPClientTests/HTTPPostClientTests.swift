@testable import SMTPClient
import Testing

/// The tiny HTTP/1.1 POST client's pure parts: URLs, the request head and the status line.
@Suite struct HTTPPostClientTests {
    @Test func parsesEndpoints() throws {
        let plain = try #require(HTTPEndpoint(url: "http://127.0.0.1:9000/sms?x=1"))
        #expect(!plain.secure && plain.host == "127.0.0.1" && plain.port == 9000 && plain.target == "/sms?x=1")
        let secure = try #require(HTTPEndpoint(url: "HTTPS://sms.example.com"))
        #expect(secure.secure && secure.port == 443 && secure.target == "/" && secure.hostHeader == "sms.example.com")
        #expect(HTTPEndpoint(url: "http://example.com?q=1")?.target == "/?q=1")
        #expect(plain.description == "http://127.0.0.1:9000/sms?…", "the query (an API key?) stays out of logs")
        #expect(HTTPEndpoint(url: "http://[::1]:8080/a")?.host == "::1")
        #expect(HTTPEndpoint(url: "http://[::1]:8080/a")?.hostHeader == "[::1]:8080")
        for bad in ["http://", "https://:80/", "http://a:b:c/", "http://a@b/", "http://a/\u{7}", "mailto:a@b"] {
            #expect(HTTPEndpoint(url: bad) == nil, "\(bad)")
        }
    }

    @Test func writesTheRequestHead() throws {
        let endpoint = try #require(HTTPEndpoint(url: "http://gw.test:8080/send"))
        #expect(HTTPPostClient.requestHead(endpoint, bodyBytes: 12) == "POST /send HTTP/1.1\r\nHost: gw.test:8080\r\n"
                + "User-Agent: BankHub\r\nContent-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n")
    }

    @Test func readsStatusLines() throws {
        #expect(try HTTPPostClient.status(of: Array("HTTP/1.1 202 Accepted\r\nX: y\r\n".utf8)) == (202, "Accepted"))
        #expect(try HTTPPostClient.status(of: Array("HTTP/1.0 503\n".utf8)).code == 503)
        for bad in ["SMTP 220 hi\r\n", "HTTP/1.1 2000 Huge\r\n", "HTTP/1.1 abc\r\n", "HTTP/2 200 OK\r\n"] {
            #expect(throws: SMTPError.self, "\(bad)") { try HTTPPostClient.status(of: Array(bad.utf8)) }
        }
    }
}
