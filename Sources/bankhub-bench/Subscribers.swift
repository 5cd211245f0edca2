import WebSocketClient

/// Opens many authenticated, subscribed links at once (bounded concurrency), spreading their source
/// addresses over 127.0.0.2, 127.0.0.3, ... so more connections fit than one address has ephemeral ports, and
/// their hubs round robin over the hubs given (``HubSpread``).
enum Subscribers {
    /// Connections per source address (the ephemeral port range here is 32768-60999).
    static let perSourceAddress = 5_000
    /// Handshakes plus auth plus subscribe in flight at once.
    static let concurrencyMax = 512

    struct Opened: Sendable {
        let links: [BenchLink]
        /// The stream head each subscribe answered.
        let heads: [Int64]
    }

    /// `request(i)` gives link `i`'s token, stream and optional `since`. `addressOffset` shifts the source
    /// addresses (a second wave of connections then does not reuse the first wave's ports in TIME_WAIT).
    static func open(_ count: Int, address: HubAddress, loop: WebSocketClientLoop, addressOffset: Int = 0,
                     request: @escaping @Sendable (Int) -> (token: String, stream: String, since: Int64?),
                     onFrame: @escaping @Sendable (Int, LinkFrame) -> Void) async throws -> Opened {
        try await open(count, spreadOver: [address], loop: loop, addressOffset: addressOffset, request: request,
                       onFrame: onFrame)
    }

    /// The same over several hubs: link `i` goes to `hubs[HubSpread.hub(of: firstIndex + i)]`, so processes
    /// opening consecutive slices of one run (`firstIndex`) spread it as one process would.
    static func open(_ count: Int, spreadOver hubs: [HubAddress], firstIndex: Int = 0, loop: WebSocketClientLoop,
                     addressOffset: Int = 0,
                     request: @escaping @Sendable (Int) -> (token: String, stream: String, since: Int64?),
                     onFrame: @escaping @Sendable (Int, LinkFrame) -> Void) async throws -> Opened {
        precondition(!hubs.isEmpty && firstIndex >= 0, "a hub to connect to")
        return try await open(count, hubOf: { hubs[HubSpread.hub(of: firstIndex + $0, hubs: hubs.count)] }, loop: loop,
                              addressOffset: addressOffset, request: request, onFrame: onFrame)
    }

    /// The same with each link's hub chosen by the caller: link `i` goes to `hubOf(i)`.
    static func open(_ count: Int, hubOf: (Int) -> HubAddress, loop: WebSocketClientLoop, addressOffset: Int = 0,
                     request: @escaping @Sendable (Int) -> (token: String, stream: String, since: Int64?),
                     onFrame: @escaping @Sendable (Int, LinkFrame) -> Void) async throws -> Opened {
        var links: [BenchLink?] = Array(repeating: nil, count: count)
        var heads: [Int64] = Array(repeating: 0, count: count)
        try await withThrowingTaskGroup(of: (Int, BenchLink, Int64).self) { group in
            var next = 0
            func startOne() {
                let index = next
                next += 1
                let address = hubOf(index)
                let loopback = address.host == "127.0.0.1" || address.host == "localhost"
                let source = loopback ? "127.0.0.\(2 + addressOffset + index / perSourceAddress)" : nil
                group.addTask {
                    let (token, stream, since) = request(index)
                    let link = try await BenchSetup.authenticated(address, loop: loop, index: index, token: token,
                                                                  sourceAddress: source, onFrame: onFrame)
                    let sinceField = since.map { #","since":\#($0)"# } ?? ""
                    let reply = try await link.call("subscribe", #"{"stream":"\#(stream)"\#(sinceField)}"#)
                    return (index, link, reply["head"]?.int64Value ?? 0)
                }
            }
            while next < min(count, concurrencyMax) { startOne() }
            while let (index, link, head) = try await group.next() {
                links[index] = link
                heads[index] = head
                if next < count { startOne() }
            }
        }
        return Opened(links: links.map { $0! }, heads: heads)
    }
}
