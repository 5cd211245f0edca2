import BankStorage

/// Encodes an event frame: `{"event":"balance","stream":"account:1001","seq":42,"data":{...}}`.
///
/// Built by concatenation: `data` is already JSON text (as stored), and kinds and stream names are plain
/// ASCII identifiers that need no escaping (asserted), so one event is encoded once for all its subscribers.
enum EventFrame {
    static func encode(_ event: StoredEvent) -> [UInt8] {
        assert(isPlain(event.kind) && isPlain(event.stream), "event kinds and stream names need no JSON escaping")
        var frame: [UInt8] = []
        frame.reserveCapacity(64 + event.stream.utf8.count + event.data.utf8.count)
        frame.append(contentsOf: #"{"event":""#.utf8)
        frame.append(contentsOf: event.kind.utf8)
        frame.append(contentsOf: #"","stream":""#.utf8)
        frame.append(contentsOf: event.stream.utf8)
        frame.append(contentsOf: #"","seq":"#.utf8)
        frame.append(contentsOf: String(event.seq).utf8)
        frame.append(contentsOf: #","data":"#.utf8)
        frame.append(contentsOf: event.data.utf8)
        frame.append(UInt8(ascii: "}"))
        return frame
    }

    private static func isPlain(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }
}
