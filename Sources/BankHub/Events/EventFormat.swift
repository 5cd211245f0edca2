import BankStorage

/// How a subscriber receives events: as JSON frames on a WebSocket, or as server-sent-event records on an
/// HTTP stream. The fan-out encodes each event once per format that has subscribers.
public enum EventFormat: Sendable, Equatable {
    /// `{"event":"balance","stream":"account:1001","seq":42,"data":{...}}` (a WebSocket text frame).
    case frame
    /// `id: 42\nevent: balance\ndata: {...}\n\n` (`text/event-stream`).
    case serverSent

    func encode(_ event: StoredEvent) -> [UInt8] {
        switch self {
        case .frame: EventFrame.encode(event)
        case .serverSent: ServerSentEvent.encode(event)
        }
    }
}

/// Encodes server-sent-event records (WHATWG HTML, "Server-sent events"): `id` is the event's seq, so a
/// browser's `EventSource` resumes with `Last-Event-ID: SEQ`; `event` its kind; `data` its data object.
enum ServerSentEvent {
    /// Sent every `eventStreamHeartbeatSeconds` so proxies and load balancers see traffic on an idle stream.
    static let heartbeat = Array(": keep-alive\n\n".utf8)

    static func encode(_ event: StoredEvent) -> [UInt8] {
        var record: [UInt8] = []
        record.reserveCapacity(32 + event.kind.utf8.count + event.data.utf8.count)
        record.append(contentsOf: "id: \(event.seq)\nevent: \(event.kind)\n".utf8)
        appendData(event.data, to: &record)
        record.append(UInt8(ascii: "\n"))
        return record
    }

    /// The first bytes of a stream: how long a browser waits before reconnecting, and a comment naming the
    /// stream and its head at subscription (what `subscribe` answers over a WebSocket).
    static func preamble(stream: String, head: Int64, retryMilliseconds: Int) -> [UInt8] {
        Array("retry: \(retryMilliseconds)\n: stream \(stream) head \(head)\n\n".utf8)
    }

    /// One `data:` line per line of text (stored JSON is one line; a line break would otherwise end the field).
    private static func appendData(_ data: String, to record: inout [UInt8]) {
        var line: [UInt8] = []
        for byte in data.utf8 {
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                record.append(contentsOf: "data: ".utf8 + line + [UInt8(ascii: "\n")])
                line = []
            } else {
                line.append(byte)
            }
        }
        record.append(contentsOf: "data: ".utf8 + line + [UInt8(ascii: "\n")])
    }
}
