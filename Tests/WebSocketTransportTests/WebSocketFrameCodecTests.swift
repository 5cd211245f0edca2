import Testing
import WebSocketClient

struct WebSocketFrameCodecTests {
    private func serverFrame(_ opcode: WebSocketFrameCodec.Opcode, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        WebSocketFrameCodec.encodeFrame(opcode: opcode, payload: payload, fin: fin, masked: false)
    }

    /// A masked client text frame carries the mask bit and decodes back to the same text.
    @Test func clientTextFrameIsMaskedAndRoundTrips() throws {
        let frame = WebSocketFrameCodec.encodeFrame(opcode: .text, payload: Array("héllo".utf8),
                                                    maskKey: [1, 2, 3, 4])
        #expect(frame[0] == 0x81)
        #expect(frame[1] & 0x80 != 0)
        var server = WebSocketFrameCodec(role: .server)
        server.append(frame)
        #expect(try server.nextEvent() == .message(.text("héllo")))
    }

    /// 16-bit and 64-bit payload lengths encode and decode exactly.
    @Test func extendedLengthsRoundTrip() throws {
        for length in [125, 126, 65_535, 65_536, 200_000] {
            let payload = [UInt8](repeating: 7, count: length)
            var server = WebSocketFrameCodec(role: .server)
            server.append(WebSocketFrameCodec.encodeFrame(opcode: .binary, payload: payload))
            #expect(try server.nextEvent() == .message(.binary(payload)))
        }
    }

    /// Fragments arriving byte by byte are reassembled into one message, with a ping in between.
    @Test func decoderReassemblesFragmentsAcrossReads() throws {
        var bytes = serverFrame(.text, Array("Hel".utf8), fin: false)
        bytes += serverFrame(.ping, [9])
        bytes += serverFrame(.continuation, Array("lo".utf8), fin: true)
        var codec = WebSocketFrameCodec()
        var events: [WebSocketFrameCodec.Event] = []
        for byte in bytes {
            codec.append([byte])
            while let event = try codec.nextEvent() { events.append(event) }
        }
        #expect(events == [.ping([9]), .message(.text("Hello"))])
    }

    /// A ping gets an automatic masked pong with the same payload; other events get no reply.
    @Test func pingGetsAutomaticPong() throws {
        let reply = try #require(WebSocketFrameCodec.automaticReply(to: .ping([1, 2, 3])))
        var server = WebSocketFrameCodec(role: .server)
        server.append(reply)
        #expect(try server.nextEvent() == .pong([1, 2, 3]))
        #expect(WebSocketFrameCodec.automaticReply(to: .message(.text("x"))) == nil)
    }

    /// Close frames decode their code and reason; an empty close means 1005.
    @Test func closeFramesDecodeCodeAndReason() throws {
        var codec = WebSocketFrameCodec()
        codec.append(WebSocketFrameCodec.encodeClose(code: 4008, reason: "slow consumer", masked: false))
        codec.append(serverFrame(.close, []))
        #expect(try codec.nextEvent() == .message(.close(code: 4008, reason: "slow consumer")))
        #expect(try codec.nextEvent() == .message(.close(code: 1005, reason: "")))
    }

    /// A client decoder rejects masked frames: servers must not mask (RFC 6455 §5.1).
    @Test func decoderRejectsMaskedServerFrames() {
        var codec = WebSocketFrameCodec()
        codec.append(WebSocketFrameCodec.encodeText("masked"))
        #expect(throws: WebSocketFrameCodec.DecodeError.maskMismatch) { try codec.nextEvent() }
    }

    /// A continuation frame with no message started is a protocol error.
    @Test func decoderRejectsOrphanContinuation() {
        var codec = WebSocketFrameCodec()
        codec.append(serverFrame(.continuation, [1]))
        #expect(throws: WebSocketFrameCodec.DecodeError.unexpectedContinuation) { try codec.nextEvent() }
    }

    /// A message bigger than messageBytesMax is refused before it is buffered.
    @Test func decoderRejectsOverlongMessages() {
        var codec = WebSocketFrameCodec(messageBytesMax: 10)
        codec.append(serverFrame(.binary, [UInt8](repeating: 0, count: 11)))
        #expect(throws: WebSocketFrameCodec.DecodeError.messageTooLarge(bytesMax: 10)) { try codec.nextEvent() }
    }

    /// Invalid UTF-8 in a text message is rejected.
    @Test func decoderRejectsInvalidUTF8Text() {
        var codec = WebSocketFrameCodec()
        codec.append(serverFrame(.text, [0xC3, 0x28]))
        #expect(throws: WebSocketFrameCodec.DecodeError.invalidUTF8) { try codec.nextEvent() }
    }

    /// Sec-WebSocket-Accept matches the worked example of RFC 6455 §1.3.
    @Test func acceptValueMatchesRFCExample() {
        #expect(WebSocketHandshake.acceptValue(for: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }
}
