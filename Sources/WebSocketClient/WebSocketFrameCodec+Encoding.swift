extension WebSocketFrameCodec {
    /// One frame. Client frames are masked (RFC 6455 §5.3) with `maskKey`, or a random key if nil;
    /// pass `masked: false` to build server frames (tests use this to feed the decoder).
    public static func encodeFrame(opcode: Opcode, payload: some Collection<UInt8>, fin: Bool = true,
                                   masked: Bool = true, maskKey: [UInt8]? = nil) -> [UInt8] {
        precondition(maskKey == nil || maskKey!.count == 4, "a mask key has 4 bytes")
        let length = payload.count
        var frame: [UInt8] = []
        frame.reserveCapacity(length + 14)
        frame.append((fin ? 0x80 : 0) | opcode.rawValue)
        let maskBit: UInt8 = masked ? 0x80 : 0
        if length < 126 {
            frame.append(maskBit | UInt8(length))
        } else if length <= 0xFFFF {
            frame.append(maskBit | 126)
            frame.append(UInt8(length >> 8))
            frame.append(UInt8(truncatingIfNeeded: length))
        } else {
            frame.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) {
                frame.append(UInt8(truncatingIfNeeded: UInt64(length) >> UInt64(shift)))
            }
        }
        guard masked else {
            frame.append(contentsOf: payload)
            return frame
        }
        let key = maskKey ?? randomMaskKey()
        frame.append(contentsOf: key)
        var index = 0
        for byte in payload {
            frame.append(byte ^ key[index & 3])
            index += 1
        }
        return frame
    }

    /// A masked text frame.
    public static func encodeText(_ text: String) -> [UInt8] {
        encodeFrame(opcode: .text, payload: Array(text.utf8))
    }

    /// A masked close frame; the reason is cut to fit the 125-byte control payload.
    public static func encodeClose(code: UInt16, reason: String, masked: Bool = true) -> [UInt8] {
        var payload: [UInt8] = [UInt8(code >> 8), UInt8(truncatingIfNeeded: code)]
        payload.append(contentsOf: reason.utf8.prefix(123))
        return encodeFrame(opcode: .close, payload: payload, masked: masked)
    }

    private static func randomMaskKey() -> [UInt8] {
        let value = UInt32.random(in: .min ... .max)
        return [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8),
                UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 24)]
    }
}
