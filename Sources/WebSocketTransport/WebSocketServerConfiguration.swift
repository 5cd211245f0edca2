import Foundation

/// Everything a ``WebSocketServer`` needs to know before `start()`. Limits are per connection unless said.
public struct WebSocketServerConfiguration: Sendable {
    /// The address to listen on; an IPv4 literal turns IPv6 off for the listener.
    public var host: String = "127.0.0.1"
    /// The TCP port; 0 asks the kernel for an ephemeral port (read it back from ``WebSocketServer/port``).
    public var port: Int = 8080
    /// SO_REUSEPORT: several servers (hub processes) may listen on the same host and port; the kernel spreads
    /// new connections among them. The transport then makes the listening socket itself and hands accepted
    /// connections to lws (see `TransportListener`), because lws 4.1 with one service thread never sets the option.
    /// Off by default, so a second server on a taken port fails to start with `.addressInUse`; with it on,
    /// every server on the port must have it on.
    public var reusePort: Bool = false
    /// Directory served at "/" (with `index.html` as the default file); nil serves no static files.
    public var webRoot: String?
    /// The only path on which a WebSocket upgrade is accepted.
    public var webSocketPath: String = "/ws"
    /// The WebSocket subprotocol name; clients may ask for it or for none.
    public var subprotocol: String = "bankhub.v1"
    /// Largest inbound message after reassembly; a bigger one gets `tooLargeReply` and close 1009.
    public var messageBytesMax: Int = 65_536
    /// Text frame sent before closing with 1009 when an inbound message is too large.
    public var tooLargeReply: [UInt8] = Array(#"{"error":"message_too_large"}"#.utf8)
    /// Bytes queued for one connection before it is closed with 4008 "slow consumer".
    public var outboundQueueBytesMax: Int = 8 << 20
    /// Messages queued for one connection before it is closed with 4008 "slow consumer".
    public var outboundQueueMessagesMax: Int = 65_536
    /// Messages one connection may have handed to the application and not yet had `consumed`; past it the
    /// transport stops reading that socket until the application catches up to half (TCP back-pressure).
    public var inboundMessagesMax: Int = 4_096
    /// Bytes of messages one connection may have handed to the application and not yet had `consumed`; past
    /// it reading stops as for `inboundMessagesMax` (so a connection holds at most this plus one message).
    public var inboundBytesMax: Int = 1 << 20
    /// SO_SNDBUF for each WebSocket socket; nil leaves the kernel's autotuning (which on loopback starts near
    /// 2 MiB). A smaller buffer bounds the kernel memory a non-reading peer holds and shows it sooner.
    public var socketSendBufferBytes: Int?
    /// Seconds a connection may take to close once a close was asked for (any code, either side); past it
    /// the transport drops the TCP connection whatever the peer does.
    public var closeTimeoutSeconds: Int = 5
    /// Open WebSocket connections in all; past it upgrades get HTTP 503. Defaults to the open-file limit
    /// less 5 % headroom (19,000 for 20,000 files).
    public var connectionsMax: Int = ConnectionLimiter.defaultConnectionsMax()
    /// Open WebSocket connections from one peer address; past it that address's upgrades get HTTP 503.
    public var connectionsPerAddressMax: Int = 256
    /// Seconds an HTTP stream (or a long response) may have bytes waiting that its peer does not read before
    /// the connection is cut (the HTTP side of the slow-consumer rule; see ``HTTPRoute``).
    public var httpStreamStallSeconds: Int = 10
    /// Seconds a connection may take to send a whole request head: after its accept, and (keep-alive) after each
    /// response. Past it lws closes the connection (a socket held open without a request costs a file).
    public var httpIdleSeconds: Int = 5
    /// Seconds of silence after which lws sends a ping.
    public var pingIntervalSeconds: Int = 25
    /// Seconds of silence (no pong, no data) after which lws hangs up.
    public var idleTimeoutSeconds: Int = 60
    /// Seconds `shutdown()` waits for connections to flush and close before destroying the context.
    public var shutdownGraceSeconds: Int = 5
    /// PEM certificate; with `tlsPrivateKeyPath` set too, the server speaks https/wss.
    public var tlsCertificatePath: String?
    /// PEM private key matching `tlsCertificatePath`.
    public var tlsPrivateKeyPath: String?
    /// Origins allowed besides the server's own; a request without `Origin` always passes.
    public var allowedOrigins: [String] = []
    /// Host names (as in the `Host` header, without port) accepted besides loopback and `host`; an upgrade
    /// naming any other host is refused with 403 (DNS rebinding).
    public var allowedHosts: [String] = []
    /// Headers added to every HTTP response (static files, /healthz, refusals), e.g. CSP and nosniff.
    public var responseHeaders: [(name: String, value: String)] = []
    /// The event loop; `.libev` falls back to `.poll` (with a log line) when its plugin cannot load.
    public var eventLoop: EventLoop = .libev
    /// Bytes lws allocates per connection for receiving; a bigger frame arrives in several pieces (reassembled
    /// into one message up to `messageBytesMax`). 2,048: a request is a few hundred bytes, and this buffer is
    /// the largest piece of a connection's memory (it was 4,096: 2 KiB more on each of 19,000 connections).
    public var receiveBufferBytes: Int = 2_048
    /// Where the transport's own log lines go (one line each, no newline).
    public var log: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data("[WebSocketTransport] \(line)\n".utf8))
    }

    /// Test-only fault-injection point (see ``AcceptFaultInjection``): nil in the product, so inert.
    var acceptFaults: AcceptFaultInjection?

    public init() {}

    /// True when both TLS paths are set.
    public var usesTLS: Bool { tlsCertificatePath != nil && tlsPrivateKeyPath != nil }

    /// Crashes on a configuration no server could run with: these are programmer errors.
    func validate() {
        precondition((0...65_535).contains(port), "port \(port) out of range")
        precondition(webSocketPath.hasPrefix("/"), "webSocketPath must start with /")
        precondition(!subprotocol.isEmpty, "subprotocol must not be empty")
        precondition(messageBytesMax > 0, "messageBytesMax must be positive")
        precondition(outboundQueueBytesMax > 0, "outboundQueueBytesMax must be positive")
        precondition(outboundQueueMessagesMax > 0, "outboundQueueMessagesMax must be positive")
        precondition(inboundMessagesMax >= 2, "inboundMessagesMax must be at least 2")
        precondition(inboundBytesMax >= 2, "inboundBytesMax must be at least 2")
        precondition((1...3_600).contains(closeTimeoutSeconds), "closeTimeoutSeconds must be 1...3600")
        precondition(socketSendBufferBytes.map { $0 >= 4_096 } ?? true, "socketSendBufferBytes must be at least 4096")
        precondition(connectionsMax >= 1, "connectionsMax must be at least 1")
        precondition(connectionsPerAddressMax >= 1, "connectionsPerAddressMax must be at least 1")
        precondition((1...65_535).contains(pingIntervalSeconds), "pingIntervalSeconds must fit 16 bits")
        precondition(idleTimeoutSeconds > pingIntervalSeconds && idleTimeoutSeconds <= 65_535,
                     "idleTimeoutSeconds must exceed pingIntervalSeconds")
        precondition(shutdownGraceSeconds >= 0, "shutdownGraceSeconds must not be negative")
        precondition((tlsCertificatePath == nil) == (tlsPrivateKeyPath == nil),
                     "set both TLS paths or neither")
        precondition(receiveBufferBytes >= 128, "receiveBufferBytes too small")
        precondition((1...3_600).contains(httpStreamStallSeconds), "httpStreamStallSeconds must be 1...3600")
        precondition((1...3_600).contains(httpIdleSeconds), "httpIdleSeconds must be 1...3600")
        for header in responseHeaders {
            precondition(!header.name.isEmpty && !header.name.contains(":"), "bad header name \(header.name)")
            precondition(!header.value.contains("\r") && !header.value.contains("\n"), "header value with CR/LF")
        }
    }
}
