import Glibc

/// Reads the few fields a load generator needs from a hub frame without parsing the whole JSON.
///
/// Hub frames put the fields we need before any nested data (`{"id":7,"ok":true,...}` and
/// `{"event":"balance","stream":"account:1001","seq":42,"data":{...}}`), so the first occurrence of each
/// key is the top-level one. A full JSON parse per frame would make the client, not the hub, the bottleneck.
enum FrameScan {
    enum Frame: Sendable {
        /// `id` is -1 when the reply's id was not an integer (e.g. `null` for a malformed request).
        case reply(id: Int64, ok: Bool, code: String?)
        case event(kind: String, stream: String, seq: Int64)
        case other
    }

    static func scan(_ text: String) -> Frame {
        var copy = text
        return copy.withUTF8 { bytes in scan(bytes) }
    }

    static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> Frame {
        if let kindStart = find("\"event\":\"", in: bytes) {
            guard let kind = stringValue(bytes, from: kindStart),
                  let streamStart = find("\"stream\":\"", in: bytes),
                  let stream = stringValue(bytes, from: streamStart),
                  let seqStart = find("\"seq\":", in: bytes),
                  let seq = integerValue(bytes, from: seqStart) else { return .other }
            return .event(kind: kind, stream: stream, seq: seq)
        }
        guard let idStart = find("\"id\":", in: bytes), let okStart = find("\"ok\":", in: bytes),
              okStart < bytes.count else { return .other }
        let id = integerValue(bytes, from: idStart) ?? -1
        let ok = bytes[okStart] == UInt8(ascii: "t")
        var code: String?
        if !ok, let codeStart = find("\"code\":\"", in: bytes) { code = stringValue(bytes, from: codeStart) }
        return .reply(id: id, ok: ok, code: code)
    }

    /// The index just past the first occurrence of `needle`, or nil.
    static func find(_ needle: StaticString, in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let pattern = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        guard pattern.count <= bytes.count, let first = pattern.first else { return nil }
        var index = 0
        let last = bytes.count - pattern.count
        while index <= last {
            if bytes[index] == first {
                var matched = 1
                while matched < pattern.count && bytes[index + matched] == pattern[matched] { matched += 1 }
                if matched == pattern.count { return index + pattern.count }
            }
            index += 1
        }
        return nil
    }

    /// The characters from `start` up to the next quote (the names we read contain no escapes).
    private static func stringValue(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> String? {
        var end = start
        while end < bytes.count && bytes[end] != UInt8(ascii: "\"") { end += 1 }
        guard end < bytes.count else { return nil }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    /// A non-negative decimal integer starting at `start`, or nil when there is none (e.g. `null`).
    private static func integerValue(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int64? {
        var index = start
        var value: Int64 = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            value = value &* 10 &+ Int64(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        return index == start ? nil : value
    }
}

/// Monotonic time in nanoseconds, cheap enough to read per request.
enum Nanoseconds {
    static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
