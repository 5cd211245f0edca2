@testable import BankHub
import Testing

/// The fan-out's per-connection set of streams: one stream inline, a set from the second on, back to inline.
struct ConnectionStreamsTests {
    /// One stream is held and found; inserting it again changes nothing; removing it empties the set.
    @Test func oneStreamInsertedTwiceIsHeldOnceAndRemoved() {
        var streams = ConnectionStreams()
        #expect(streams.isEmpty)
        streams.insert("account:1001")
        streams.insert("account:1001")
        #expect(streams.count == 1)
        #expect(streams.contains("account:1001"))
        #expect(!streams.contains("account:1002"))
        #expect(Array(streams) == ["account:1001"])
        streams.remove("account:1002")
        #expect(streams.count == 1)
        streams.remove("account:1001")
        #expect(streams.isEmpty)
        #expect(Array(streams).isEmpty)
    }

    /// Several streams are all held and each removal takes exactly one, down to none.
    @Test func severalStreamsAreHeldAndRemovedOneByOne() {
        var streams = ConnectionStreams()
        let names = ["account:1001", "user:7", "staff:requests", "admin:threats"]
        for name in names { streams.insert(name) }
        #expect(streams.count == 4)
        #expect(Set(streams) == Set(names))
        streams.remove("user:7")
        #expect(Set(streams) == ["account:1001", "staff:requests", "admin:threats"])
        streams.remove("account:1001")
        streams.remove("admin:threats")
        #expect(Array(streams) == ["staff:requests"])
        streams.insert("user:7")
        #expect(Set(streams) == ["staff:requests", "user:7"])
        streams.remove("staff:requests")
        streams.remove("user:7")
        #expect(streams.isEmpty)
    }

    /// Revocation filters and sorts the streams as it did with a `Set`.
    @Test func filterAndSortSeeEveryStream() {
        var streams = ConnectionStreams()
        for name in ["user:7", "account:1002", "account:1001"] { streams.insert(name) }
        #expect(streams.filter { $0.hasPrefix("account:") }.sorted() == ["account:1001", "account:1002"])
    }
}
