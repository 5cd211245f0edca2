/// RFC 6455 framing, pure: encodes masked client frames and decodes server frames, reassembling
/// fragmented messages. No sockets; feed it bytes with ``append(_:)`` and pull ``nextEvent()``.
public struct WebSocketFrameCodec: Sendable {
    public enum Opcode: UInt8, Sendable {
        case continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA
        var isControl: Bool { rawValue >= 0x8 }
    }

    /// Which side this codec decodes for: a client expects unmasked frames, a server masked ones.
    public enum Role: Sendable { case client, server }

    public enum Event: Equatable, Sendable {
        /// A complete text or binary message, or the peer's close frame.
        case message(WebSocketMessage)
        case ping([UInt8])
        case pong([UInt8])
    }

    public enum DecodeError: Error, Equatable, Sendable {
        case reservedBitsSet
        case unknownOpcode(UInt8)
        case maskMismatch
        case controlFrameInvalid
        case unexpectedContinuation
        case interleavedDataFrame
        case messageTooLarge(bytesMax: Int)
        case invalidUTF8
        case invalidClosePayload
    }

    /// Largest message accepted after reassembly.
    public let messageBytesMax: Int
    public let role: Role
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var fragments: [UInt8] = []
    private var fragmentOpcode: Opcode?

    public init(role: Role = .client, messageBytesMax: Int = 16 << 20) {
        precondition(messageBytesMax > 0, "messageBytesMax must be positive")
        self.role = role
        self.messageBytesMax = messageBytesMax
    }

    /// Bytes received but not yet decoded.
    public var bufferedBytes: Int { buffer.count - readIndex }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if readIndex > 0 && readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete event, or nil when more bytes are needed.
    public mutating func nextEvent() throws(DecodeError) -> Event? {
        while let frame = try nextFrame() {
            if let event = try absorb(frame) { return event }
        }
        compactBuffer()
        return nil
    }

    /// The reply RFC 6455 requires for an event: a pong for a ping (same payload); nil otherwise.
    /// Close replies are the caller's business (it knows whether it already sent one).
    public static func automaticReply(to event: Event) -> [UInt8]? {
        guard case .ping(let payload) = event else { return nil }
        return encodeFrame(opcode: .pong, payload: payload)
    }

    private struct Frame {
        let fin: Bool
        let opcode: Opcode
        let payload: [UInt8]
    }

    private mutating func nextFrame() throws(DecodeError) -> Frame? {
        let available = buffer.count - readIndex
        guard available >= 2 else { return nil }
        let first = buffer[readIndex], second = buffer[readIndex + 1]
        guard first & 0x70 == 0 else { throw .reservedBitsSet }
        guard let opcode = Opcode(rawValue: first & 0x0F) else { throw .unknownOpcode(first & 0x0F) }
        let masked = second & 0x80 != 0
        guard masked == (role == .server) else { throw .maskMismatch }
        var headerLength = 2
        var length = Int(second & 0x7F)
        if length == 126 {
            guard available >= 4 else { return nil }
            length = Int(buffer[readIndex + 2]) << 8 | Int(buffer[readIndex + 3])
            headerLength = 4
        } else if length == 127 {
            guard available >= 10 else { return nil }
            var value: UInt64 = 0
            for index in 2..<10 { value = value << 8 | UInt64(buffer[readIndex + index]) }
            guard value <= UInt64(messageBytesMax) else { throw .messageTooLarge(bytesMax: messageBytesMax) }
            length = Int(value)
            headerLength = 10
        }
        guard length <= messageBytesMax else { throw .messageTooLarge(bytesMax: messageBytesMax) }
        if opcode.isControl && (length > 125 || first & 0x80 == 0) { throw .controlFrameInvalid }
        let maskLength = masked ? 4 : 0
        guard available >= headerLength + maskLength + length else { return nil }
        let maskStart = readIndex + headerLength
        let payloadStart = maskStart + maskLength
        var payload = Array(buffer[payloadStart..<(payloadStart + length)])
        if masked {
            for index in payload.indices { payload[index] ^= buffer[maskStart + index % 4] }
        }
        readIndex = payloadStart + length
        return Frame(fin: first & 0x80 != 0, opcode: opcode, payload: payload)
    }

    /// Turns one frame into an event, holding data fragments until the final one.
    private mutating func absorb(_ frame: Frame) throws(DecodeError) -> Event? {
        switch frame.opcode {
        case .ping: return .ping(frame.payload)
        case .pong: return .pong(frame.payload)
        case .close: return .message(try Self.decodeClose(frame.payload))
        case .text, .binary:
            guard fragmentOpcode == nil else { throw .interleavedDataFrame }
            if frame.fin { return try Self.message(frame.opcode, frame.payload) }
            fragmentOpcode = frame.opcode
            fragments = frame.payload
            return nil
        case .continuation:
            guard let opcode = fragmentOpcode else { throw .unexpectedContinuation }
            guard fragments.count + frame.payload.count <= messageBytesMax else {
                throw .messageTooLarge(bytesMax: messageBytesMax)
            }
            fragments.append(contentsOf: frame.payload)
            guard frame.fin else { return nil }
            defer { fragments = []; fragmentOpcode = nil }
            return try Self.message(opcode, fragments)
        }
    }

    private static func message(_ opcode: Opcode, _ payload: [UInt8]) throws(DecodeError) -> Event {
        if opcode == .binary { return .message(.binary(payload)) }
        guard let text = String(validating: payload, as: UTF8.self) else { throw .invalidUTF8 }
        return .message(.text(text))
    }

    private static func decodeClose(_ payload: [UInt8]) throws(DecodeError) -> WebSocketMessage {
        if payload.isEmpty { return .close(code: 1005, reason: "") }
        guard payload.count >= 2 else { throw .invalidClosePayload }
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        guard let reason = String(validating: payload[2...], as: UTF8.self) else { throw .invalidUTF8 }
        return .close(code: code, reason: reason)
    }

    private mutating func compactBuffer() {
        if readIndex > 0 && readIndex * 2 >= buffer.count {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }
}
