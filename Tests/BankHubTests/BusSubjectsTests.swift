@testable import BankHub
import BankBus
import BankStorage
import BankStore
import Testing

/// Stream names map to one valid NATS subject token and back; events survive the envelope both ways.
struct BusSubjectsTests {
    /// Today's stream names travel unescaped under `bank.events.`.
    @Test func plainStreamNamesAreTheirOwnToken() {
        for stream in ["account:1001", "user:7", "admin:threats", "staff:requests"] {
            #expect(BusSubjects.events(of: stream) == "bank.events.\(stream)")
            #expect(BusSubjects.stream(ofEventsSubject: "bank.events.\(stream)") == stream)
        }
    }

    /// Separators, wildcards, whitespace, `%` and non-ASCII are escaped into one token that decodes back.
    @Test func unsafeCharactersAreEscapedIntoOneValidToken() {
        let stream = "a.b *>\t%é"
        let token = BusSubjects.token(for: stream)
        #expect(token == "a%2Eb%20%2A%3E%09%25%C3%A9")
        #expect(!token.contains(where: { ".*> \t".contains($0) }))
        #expect(BusSubjects.stream(ofToken: token) == stream)
    }

    /// Tokens `token(for:)` never writes are refused: a raw `.`, a lower-case or short escape, an escaped
    /// plain byte, an empty token, an escape that is not UTF-8, or a subject outside `bank.events.`.
    @Test func decoderRejectsTokensItNeverWrites() {
        for token in ["a.b", "a%2e", "a%2", "%41", "", "%FF"] {
            #expect(BusSubjects.stream(ofToken: token) == nil, "\(token)")
        }
        #expect(BusSubjects.stream(ofEventsSubject: "other.user:7") == nil)
    }

    /// A stored event goes out as an envelope and comes back equal.
    @Test func eventRoundTripsThroughTheEnvelope() throws {
        let event = StoredEvent(stream: "account:5", seq: 42, kind: "balance", data: #"{"cents":-150,"s":"a,b"}"#,
                                at: -3)
        let decoded = try EventEnvelope.decode(BusEventCodec.envelope(event).encoded())
        #expect(try BusEventCodec.event(decoded) == event)
    }

    /// An envelope whose body is not the fan-out's layout is refused with `bus_malformed_envelope`.
    @Test func decoderRejectsForeignEventBodies() {
        for body in [#"{"amount":100}"#, #"{"kind":"x","at":1,"data":7}"#, #"{"kind":"","at":1,"data":{}}"#,
                     #"{"kind":"x","at":z,"data":{}}"#] {
            let envelope = EventEnvelope(stream: "user:1", seq: 1, event: Array(body.utf8))
            #expect(throws: BusError.self) { try BusEventCodec.event(envelope) }
        }
    }
}
