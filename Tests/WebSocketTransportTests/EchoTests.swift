import Testing
import WebSocketClient
import WebSocketTransport

struct EchoTests {
    /// A client that asks for bankhub.v1 gets it, and its message comes back unchanged.
    @Test func echoRoundTripWithSubprotocol() async throws {
        let harness = try EchoHarness()
        defer { harness.stop() }
        let client = try await harness.connect()
        #expect(client.subprotocol == "bankhub.v1")
        try await client.send(#"{"op":"ping"}"#)
        #expect(try await client.receiveText() == #"{"op":"ping"}"#)
        client.close()
    }

    /// The opened event carries the peer address, User-Agent and Origin of the handshake.
    @Test func openedEventCarriesHandshakeDetails() async throws {
        let harness = try EchoHarness()
        defer { harness.stop() }
        let origin = "http://127.0.0.1:\(harness.port)"
        let client = try await harness.connect(origin: origin)
        let id = try await harness.soleConnectionID()
        let info = try #require(harness.info(of: id))
        #expect(info.peerAddress == "127.0.0.1")
        #expect(info.userAgent == "BankHub-WebSocketClient/1")
        #expect(info.origin == origin)
        client.close()
    }

    /// 200 clients at once each get their own echoes, in the order they sent them.
    @Test func manyConcurrentConnectionsGetTheirOwnEchoesInOrder() async throws {
        let harness = try EchoHarness()
        defer { harness.stop() }
        let connectionCount = 200
        let messagesPerConnection = 5
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for connection in 0..<connectionCount {
                group.addTask {
                    let client = try await harness.connect()
                    defer { client.close() }
                    for message in 0..<messagesPerConnection { try await client.send("c\(connection)-m\(message)") }
                    var received: [String] = []
                    for _ in 0..<messagesPerConnection { received.append(try await client.receiveText() ?? "") }
                    return received == (0..<messagesPerConnection).map { "c\(connection)-m\($0)" }
                }
            }
            var allInOrder = true
            for try await inOrder in group { allInOrder = allInOrder && inOrder }
            #expect(allInOrder)
        }
    }

    /// A message split into three frames arrives at the server as one message.
    @Test func fragmentedClientMessageIsReassembled() async throws {
        let harness = try EchoHarness()
        defer { harness.stop() }
        let client = try await harness.connect()
        var frames = WebSocketFrameCodec.encodeFrame(opcode: .text, payload: Array("Hel".utf8), fin: false)
        frames += WebSocketFrameCodec.encodeFrame(opcode: .continuation, payload: Array("lo, ".utf8), fin: false)
        frames += WebSocketFrameCodec.encodeFrame(opcode: .continuation, payload: Array("world".utf8), fin: true)
        try await client.send(frames: frames)
        #expect(try await client.receiveText() == "Hello, world")
        client.close()
    }

    /// A message of exactly messageBytesMax passes; one byte more gets the reply, then close 1009.
    @Test func messageOverTheLimitGetsReplyThenClose1009() async throws {
        let limit = 65_536
        let reply = #"{"error":"too_large"}"#
        let harness = try EchoHarness { $0.messageBytesMax = limit; $0.tooLargeReply = Array(reply.utf8) }
        defer { harness.stop() }
        let client = try await harness.connect()
        let largest = String(repeating: "a", count: limit)
        try await client.send(largest)
        #expect(try await client.receiveText() == largest)
        try await client.send(largest + "b")
        #expect(try await client.receive() == .text(reply))
        #expect(try await client.receive() == .close(code: 1009, reason: "message too big"))
    }
}
