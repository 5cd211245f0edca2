/// The one place that maps stream names to NATS subjects: stream `account:1001` travels on
/// `bank.events.account:1001`.
///
/// A NATS subject token may not be empty and may not contain `.` (the token separator), `*` or `>` (wildcards)
/// or whitespace. Stream names are escaped so that any name maps to exactly one valid token and back: every
/// byte outside `A-Z a-z 0-9 _ - :` (including `%` itself) is written as `%` and two upper-case hex digits.
/// Today's names (`account:ID`, `user:ID`, `admin:threats`, `staff:requests`) pass unchanged.
enum BusSubjects {
    static let eventsPrefix = "bank.events."

    /// The subject that carries the events of `stream`.
    static func events(of stream: String) -> String {
        precondition(!stream.isEmpty, "a stream name is never empty")
        return eventsPrefix + token(for: stream)
    }

    /// The stream a subject from `events(of:)` carries, or nil for any other subject or a malformed escape.
    static func stream(ofEventsSubject subject: String) -> String? {
        guard subject.hasPrefix(eventsPrefix) else { return nil }
        return stream(ofToken: String(subject.dropFirst(eventsPrefix.count)))
    }

    /// `stream` as one valid subject token.
    static func token(for stream: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(stream.utf8.count)
        for byte in stream.utf8 {
            if isPlain(byte) {
                bytes.append(byte)
            } else {
                bytes.append(UInt8(ascii: "%"))
                bytes.append(hexDigits[Int(byte >> 4)])
                bytes.append(hexDigits[Int(byte & 0x0f)])
            }
        }
        assert(!bytes.isEmpty && bytes.allSatisfy { isPlain($0) || $0 == UInt8(ascii: "%") || isHex($0) })
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The stream name a token stands for; nil if the token is empty, holds a byte `token(for:)` never writes,
    /// has a bad escape, or does not decode to UTF-8.
    static func stream(ofToken token: String) -> String? {
        var bytes: [UInt8] = []
        var input = token.utf8.makeIterator()
        while let byte = input.next() {
            if isPlain(byte) {
                bytes.append(byte)
                continue
            }
            guard byte == UInt8(ascii: "%"), let high = input.next().flatMap(hexValue),
                  let low = input.next().flatMap(hexValue) else { return nil }
            let decoded = high << 4 | low
            // Only bytes that are not plain are escaped: anything else is not what `token(for:)` writes.
            guard !isPlain(decoded) else { return nil }
            bytes.append(decoded)
        }
        guard !bytes.isEmpty else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    private static func isPlain(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: ":"):
            return true
        default:
            return false
        }
    }

    private static func isHex(_ byte: UInt8) -> Bool { hexValue(byte) != nil }

    /// Upper-case hex only, so each stream has exactly one token.
    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
