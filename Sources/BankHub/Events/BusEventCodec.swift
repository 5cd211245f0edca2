import BankBus
import BankStorage

/// A stored event as an ``EventEnvelope`` and back. The envelope carries the stream and seq; its event bytes are
/// one JSON object `{"kind":"balance","at":1733390000,"data":{...}}`, built by concatenation (kinds are plain
/// ASCII identifiers and `data` is already JSON text, as in ``EventFrame``) and read back by the same fixed
/// layout, so no JSON parser runs per event.
enum BusEventCodec {
    private static let kindPrefix = Array(#"{"kind":""#.utf8)
    private static let atPrefix = Array(#"","at":"#.utf8)
    private static let dataPrefix = Array(#","data":"#.utf8)

    static func envelope(_ event: StoredEvent) -> EventEnvelope {
        precondition(event.seq >= 1, "stored events have seq 1 or more")
        assert(event.kind.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\"") },
               "event kinds are plain identifiers")
        var body: [UInt8] = []
        body.reserveCapacity(40 + event.kind.utf8.count + event.data.utf8.count)
        body += kindPrefix
        body += event.kind.utf8
        body += atPrefix
        body += String(event.at).utf8
        body += dataPrefix
        body += event.data.utf8
        body.append(UInt8(ascii: "}"))
        return EventEnvelope(stream: event.stream, seq: UInt64(event.seq), event: body)
    }

    /// Throws `.malformedEnvelope` for a body not laid out as `envelope(_:)` writes it, or a seq past Int64.
    static func event(_ envelope: EventEnvelope) throws(BusError) -> StoredEvent {
        guard envelope.seq <= UInt64(Int64.max) else { throw malformed("seq past Int64.max") }
        var body = envelope.event[...]
        guard body.starts(with: kindPrefix) else { throw malformed("no kind") }
        body = body.dropFirst(kindPrefix.count)
        guard let kindEnd = body.firstIndex(of: UInt8(ascii: "\"")), kindEnd > body.startIndex else {
            throw malformed("empty or unterminated kind")
        }
        let kind = String(decoding: body[..<kindEnd], as: UTF8.self)
        body = body[kindEnd...]
        guard body.starts(with: atPrefix) else { throw malformed("no at") }
        body = body.dropFirst(atPrefix.count)
        let atEnd = body.firstIndex(of: UInt8(ascii: ",")) ?? body.endIndex
        guard let at = Int64(String(decoding: body[..<atEnd], as: UTF8.self)) else { throw malformed("bad at") }
        body = body[atEnd...]
        guard body.starts(with: dataPrefix), body.last == UInt8(ascii: "}") else { throw malformed("no data") }
        let data = body.dropFirst(dataPrefix.count).dropLast()
        guard data.first == UInt8(ascii: "{"), data.last == UInt8(ascii: "}"),
              let text = String(validating: Array(data), as: UTF8.self) else {
            throw malformed("data is not a UTF-8 JSON object")
        }
        return StoredEvent(stream: envelope.stream, seq: Int64(envelope.seq), kind: kind, data: text, at: at)
    }

    private static func malformed(_ reason: String) -> BusError {
        BusError(.malformedEnvelope, "event body: \(reason)")
    }
}
