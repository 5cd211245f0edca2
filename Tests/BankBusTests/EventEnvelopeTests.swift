import BankBus
import Testing

struct EventEnvelopeTests {
    /// An envelope decodes to exactly what was encoded, for empty and large event bodies.
    @Test func roundTripsStreamSeqAndEvent() throws {
        for event in [[], Array(#"{"type":"transfer","amount":1250}"#.utf8), [UInt8](repeating: 7, count: 70_000)] {
            let envelope = EventEnvelope(stream: "account.A-1", seq: 42, event: event)
            #expect(try EventEnvelope.decode(envelope.encoded()) == envelope)
        }
    }

    /// Every proper prefix of a valid encoding is rejected as truncated, and so are trailing bytes.
    @Test func decoderRejectsTruncatedAndTrailingBytes() {
        let bytes = EventEnvelope(stream: "s", seq: 1, event: [1, 2, 3]).encoded()
        for length in 0..<bytes.count {
            #expect(throws: BusError.self) { try EventEnvelope.decode(Array(bytes[..<length])) }
        }
        #expect(throws: BusError.self) { try EventEnvelope.decode(bytes + [0]) }
    }

    /// Unknown version, empty or non-UTF-8 stream name and seq 0 are rejected with `.malformedEnvelope`.
    @Test func decoderRejectsBadFields() {
        let good = EventEnvelope(stream: "s", seq: 1, event: []).encoded()
        var badVersion = good; badVersion[0] = 2
        var emptyName = good; emptyName[2] = 0
        var badUTF8 = good; badUTF8[3] = 0xFF
        var seqZero = good; seqZero[11] = 0
        for bytes in [badVersion, emptyName, badUTF8, seqZero] {
            #expect { try EventEnvelope.decode(bytes) } throws: { ($0 as? BusError)?.code == .malformedEnvelope }
        }
    }

    /// Random bytes never crash the decoder: they decode or throw `.malformedEnvelope`.
    @Test func decoderSurvivesRandomBytes() {
        var generator = SystemRandomNumberGenerator()
        let valid = EventEnvelope(stream: "stream", seq: 9, event: Array("{}".utf8)).encoded()
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0..<64, using: &generator)).map { _ in UInt8.random(in: 0...255) }
            } else {
                bytes = valid
                bytes[Int.random(in: 0..<bytes.count)] = UInt8.random(in: 0...255)
            }
            do {
                let decoded = try EventEnvelope.decode(bytes)
                #expect(decoded.encoded() == bytes)
            } catch {
                #expect(error.code == .malformedEnvelope)
            }
        }
    }
}
