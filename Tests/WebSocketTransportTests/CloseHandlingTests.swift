import Testing
import WebSocketClient
import WebSocketTransport

/// RFC 6455 close and data-frame rules at the socket: malformed closes get 1002, bad UTF-8 gets 1007, and
/// binary messages reach the application as binary.
struct CloseHandlingTests {
    private func closeReply(to payload: [UInt8]) async throws -> WebSocketMessage {
        let harness = try EchoHarness()
        defer { harness.stop() }
        let client = try await harness.connect()
        try await client.send(frames: WebSocketFrameCodec.encodeFrame(opcode: .close, payload: payload))
        return try await client.receive()
    }

    /// A close frame with a 1-byte payload is a protocol error: 1002.
    @Test func oneByteClosePayloadIsAnswered1002() async throws {
        #expect(try await closeReply(to: [0x03]) == .close(code: 1002, reason: "close payload of 1 byte"))
    }

    /// Codes no endpoint may send (5000 and up, 1005, below 1000, 1016–2999) are answered 1002, not echoed.
    @Test func invalidCloseCodesAreAnswered1002() async throws {
        for code: UInt16 in [5_000, 65_535, 1_005, 999, 2_000] {
            let reply = try await closeReply(to: [UInt8(code >> 8), UInt8(code & 0xFF)])
            guard case .close(let answer, _) = reply else {
                Issue.record("code \(code): no close frame in reply, got \(reply)")
                continue
            }
            #expect(answer == 1002, "code \(code)")
        }
    }

    /// A close reason that is not UTF-8 is answered 1007 (lws alone would drop the socket without a word).
    @Test func closeReasonThatIsNotUTF8IsAnswered1007() async throws {
        let reply = try await closeReply(to: [0x03, 0xE8, 0xCE, 0xBA, 0xED, 0xA0, 0x80])
        #expect(reply == .close(code: 1007, reason: "close reason is not UTF-8"))
    }

    /// A valid close is echoed with its code.
    @Test func validCloseIsEchoed() async throws {
        #expect(try await closeReply(to: [0x0F, 0xA0] + Array("done".utf8)) == .close(code: 4000, reason: "done"))
    }

    /// A text message that is not UTF-8, split over two frames, fails with 1007.
    @Test func invalidUTF8TextIsAnswered1007() async throws {
        let harness = try EchoHarness()
        defer { harness.stop() }
        let client = try await harness.connect()
        var frames = WebSocketFrameCodec.encodeFrame(opcode: .text, payload: Array("ok ".utf8) + [0xE2], fin: false)
        frames += WebSocketFrameCodec.encodeFrame(opcode: .continuation, payload: [0x28, 0xA1], fin: true)
        try await client.send(frames: frames)
        #expect(try await client.receive() == .close(code: 1007, reason: "invalid UTF-8 in a text message"))
    }

    /// A binary message, even fragmented, reaches the application as binary (the echo sends it back as binary).
    @Test func binaryMessagesArriveAsBinary() async throws {
        let harness = try EchoHarness()
        defer { harness.stop() }
        let client = try await harness.connect()
        let payload: [UInt8] = [0x00, 0xFF, 0xC0, 0x80, 0x7F]
        var frames = WebSocketFrameCodec.encodeFrame(opcode: .binary, payload: Array(payload[..<2]), fin: false)
        frames += WebSocketFrameCodec.encodeFrame(opcode: .continuation, payload: Array(payload[2...]), fin: true)
        try await client.send(frames: frames)
        #expect(try await client.receive() == .binary(payload))
        try await client.send("and text")
        #expect(try await client.receive() == .text("and text"))
    }
}
