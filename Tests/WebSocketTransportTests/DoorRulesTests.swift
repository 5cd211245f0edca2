import Testing
@testable import WebSocketTransport

/// The handshake's Host/Origin rule and the connection limits, driven directly.
struct DoorRulesTests {
    private let policy = HandshakePolicy(webSocketPath: "/ws", allowedOrigins: ["https://app.example"],
                                         allowedHosts: ["bank.example", "::2"], boundHost: "10.1.2.3",
                                         usesTLS: false)

    /// Loopback names and addresses, the bound host and allowed hosts pass, with or without a port.
    @Test func hostRuleAcceptsLoopbackBoundAndAllowedHosts() {
        for host in ["127.0.0.1", "127.0.0.1:8080", "127.9.8.7:1", "localhost:8080", "LOCALHOST", "api.localhost",
                     "[::1]:8080", "[::1]", "10.1.2.3:8080", "bank.example", "Bank.Example.:443", "[::2]:80"] {
            #expect(policy.verdict(path: "/ws", origin: nil, host: host) == .accept, "\(host)")
        }
    }

    /// A foreign name (DNS rebinding), a missing or malformed Host are refused, even with a same-origin Origin.
    @Test func hostRuleRefusesForeignAndMalformedHosts() {
        for host: String? in ["evil.example", "evil.example:8080", "128.0.0.1", "127.0.0.1.evil.example", "10.1.2.4",
                              nil, "", "user@127.0.0.1", "127.0.0.1:99999", "127.0.0.1:80:80", "[::1", "a b"] {
            #expect(policy.verdict(path: "/ws", origin: nil, host: host) == .refuseForeignHost, "\(host ?? "nil")")
        }
        #expect(policy.verdict(path: "/ws", origin: "http://evil.example:8080", host: "evil.example:8080")
                == .refuseForeignHost)
    }

    /// Origins keep their rule: same origin as Host, or listed; the path is checked first.
    @Test func originRuleIsUnchanged() {
        #expect(policy.verdict(path: "/ws", origin: "http://127.0.0.1:8080", host: "127.0.0.1:8080") == .accept)
        #expect(policy.verdict(path: "/ws", origin: "https://app.example/", host: "127.0.0.1:8080") == .accept)
        #expect(policy.verdict(path: "/ws", origin: "http://localhost:3000", host: "127.0.0.1:8080")
                == .refuseForeignOrigin)
        #expect(policy.verdict(path: "/other", origin: nil, host: "127.0.0.1") == .refuseWrongPath)
    }

    /// A wildcard listen address names no host: only loopback and allowed hosts pass.
    @Test func wildcardBindAddsNoHostName() {
        let open = HandshakePolicy(webSocketPath: "/ws", allowedOrigins: [], allowedHosts: [], boundHost: "0.0.0.0",
                                   usesTLS: false)
        #expect(open.verdict(path: "/ws", origin: nil, host: "0.0.0.0:8080") == .refuseForeignHost)
        #expect(open.verdict(path: "/ws", origin: nil, host: "127.0.0.1:8080") == .accept)
    }

    /// Per-address and total limits refuse the next connection, and a close frees its slot.
    @Test func connectionLimiterCountsPerAddressAndInTotal() {
        var limiter = ConnectionLimiter(connectionsMax: 3, connectionsPerAddressMax: 2)
        limiter.opened("10.0.0.1")
        limiter.opened("10.0.0.1")
        #expect(limiter.verdict(for: "10.0.0.1") == .refusePerAddress)
        #expect(limiter.verdict(for: "10.0.0.2") == .admit)
        limiter.opened("10.0.0.2")
        #expect(limiter.verdict(for: "10.0.0.3") == .refuseTotal)
        limiter.closed("10.0.0.1")
        #expect(limiter.verdict(for: "10.0.0.1") == .admit)
        #expect(limiter.connections(from: "10.0.0.1") == 1)
        #expect(limiter.total == 2)
    }

    /// The default total follows the open-file limit, leaving headroom.
    @Test func defaultConnectionsMaxLeavesFileHeadroom() {
        let total = ConnectionLimiter.defaultConnectionsMax()
        #expect(total >= 1)
        #expect(total < 1_048_576)
    }
}
