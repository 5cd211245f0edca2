import BankCore
import Testing

/// The compact tier of idempotency keys: a sorted set of 64-bit hashes, exact on a miss.
struct StoredKeySetTests {
    /// Every inserted hash is found, in any insertion order and across merges; others are not.
    @Test func findsExactlyWhatWasInserted() {
        var generator = SplitMix64(seed: 7)
        let hashes = (0..<5_000).map { _ in generator.next() }
        var set = StoredKeySet()
        set.insert(contentsOf: Array(hashes[..<3_000]))
        set.insert(contentsOf: Array(hashes[3_000...]))
        set.insert(contentsOf: [hashes[0]])
        #expect(set.count == 5_001)
        #expect(hashes.allSatisfy(set.contains))
        let others = (0..<5_000).map { _ in generator.next() }
        #expect(others.filter(set.contains).isEmpty)
        #expect(!StoredKeySet().contains(0))
    }

    /// The hash tells users and keys apart.
    @Test func hashesUserAndKeyTogether() {
        let hash = StoredKeySet.hash(user: UserID(1), key: "k")
        #expect(hash == StoredKeySet.hash(user: UserID(1), key: "k"))
        #expect(hash != StoredKeySet.hash(user: UserID(2), key: "k"))
        #expect(hash != StoredKeySet.hash(user: UserID(1), key: "k2"))
    }
}

/// The registry's two tiers: full entries for recent keys, hashes plus a database read for old ones.
struct IdempotencyTiersTests {
    let user = UserID(1)
    let command = LedgerCommand.transfer(from: AccountID(1001), to: AccountID(1002), amount: Money(cents: 100))
    var fingerprint: IdempotencyRegistry.Fingerprint { .init(command, note: nil) }
    var entry: IdempotencyRegistry.Entry { .init(fingerprint: fingerprint, transaction: TransactionID(9)) }

    /// A stored key is `.unresolved` until resolved; then it replays, or is `conflict` naming the field.
    @Test func resolvesStoredKeysFromWhatTheDatabaseSays() throws {
        var registry = IdempotencyRegistry()
        registry.addStored([StoredKeySet.hash(user: user, key: "k")])
        #expect(try registry.lookup(user: user, key: "k", fingerprint: fingerprint) == .unresolved)
        #expect(try registry.lookup(user: user, key: "other", fingerprint: fingerprint) == .new)
        let found = IdempotencyRegistry.Resolution(generation: registry.generation, stored: entry)
        #expect(try registry.lookup(user: user, key: "k", fingerprint: fingerprint, resolution: found) == .replay(TransactionID(9)))
        let more = LedgerCommand.transfer(from: AccountID(1001), to: AccountID(1002), amount: Money(cents: 200))
        do {
            _ = try registry.lookup(user: user, key: "k", fingerprint: .init(more, note: nil), resolution: found)
            Issue.record("a changed amount was replayed")
        } catch {
            #expect(error.code == .conflict && error.field == "amount")
        }
        // A hash hit that the database does not confirm was another key's: the request is new.
        let missing = IdempotencyRegistry.Resolution(generation: registry.generation, stored: nil)
        #expect(try registry.lookup(user: user, key: "k", fingerprint: fingerprint, resolution: missing) == .new)
    }

    /// A "not stored" read before a compaction is stale afterwards: the registry asks for a new read.
    @Test func distrustsResolutionsFromAnEarlierGeneration() throws {
        var registry = IdempotencyRegistry()
        registry.addStored([StoredKeySet.hash(user: user, key: "k")])
        let missing = IdempotencyRegistry.Resolution(generation: registry.generation, stored: nil)
        registry.record(user: UserID(2), key: "x", entry: entry, at: Timestamp(milliseconds: 10))
        #expect(registry.compact(recordedBefore: Timestamp(milliseconds: 20), committedThrough: TransactionID(9)) == 1)
        #expect(try registry.lookup(user: user, key: "k", fingerprint: fingerprint, resolution: missing) == .unresolved)
    }

    /// Only keys recorded before the cutoff and committed move to the hashes; a key in flight stays a full
    /// entry, so a concurrent retry is caught without reading the database.
    @Test func compactsOnlyOldCommittedKeys() throws {
        var registry = IdempotencyRegistry()
        registry.record(user: user, key: "old", entry: entry, at: Timestamp(milliseconds: 10))
        registry.record(user: user, key: "in-flight", entry: .init(fingerprint: fingerprint, transaction: TransactionID(10)),
                        at: Timestamp(milliseconds: 11))
        registry.record(user: user, key: "new", entry: .init(fingerprint: fingerprint, transaction: TransactionID(8)),
                        at: Timestamp(milliseconds: 30))
        let moved = registry.compact(recordedBefore: Timestamp(milliseconds: 20), committedThrough: TransactionID(9))
        #expect(moved == 1)
        #expect(registry.recentCount == 2 && registry.storedCount == 1)
        #expect(try registry.lookup(user: user, key: "old", fingerprint: fingerprint) == .unresolved)
        #expect(try registry.lookup(user: user, key: "in-flight", fingerprint: fingerprint) == .replay(TransactionID(10)))
        #expect(try registry.lookup(user: user, key: "new", fingerprint: fingerprint) == .replay(TransactionID(8)))
    }

    /// A full entry answers before the hashes: a key resolved as "not stored" and then applied is caught from
    /// memory by the next request with it.
    @Test func fullEntriesAnswerFirst() throws {
        var registry = IdempotencyRegistry()
        registry.addStored([StoredKeySet.hash(user: user, key: "k")])
        registry.record(user: user, key: "k", entry: entry, at: Timestamp(milliseconds: 1))
        #expect(try registry.lookup(user: user, key: "k", fingerprint: fingerprint) == .replay(TransactionID(9)))
    }
}
