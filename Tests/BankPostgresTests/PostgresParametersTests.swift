@testable import BankPostgres
import Testing

/// SQLite-style parameters become PostgreSQL's without touching literals, and bytea round-trips.
struct PostgresParametersTests {
    /// `?` counts up, `?N` keeps its number, and `?` inside quotes or comments stays text.
    @Test func rewritesParametersOutsideLiteralsOnly() {
        #expect(PostgresParameters.rewrite("SELECT ? , '?' , \"a?\" , ? -- why?\n, ?")
                == "SELECT $1 , '?' , \"a?\" , $2 -- why?\n, $3")
        #expect(PostgresParameters.rewrite("WHERE a = ?1 AND (?12 IS NULL OR b = ?1)") == "WHERE a = $1 AND ($12 IS NULL OR b = $1)")
        #expect(PostgresParameters.rewrite("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', $1")
    }

    /// Bytes go out in bytea's hex form and come back the same; text that is not hex bytea is refused.
    @Test func byteaHexRoundTrips() {
        let bytes: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF]
        #expect(PostgresParameters.encodeHex(bytes) == "\\x00017f80ff")
        #expect(PostgresParameters.decodeHex("\\x00017F80ff") == bytes)
        #expect(PostgresParameters.decodeHex("\\x") == [])
        #expect(PostgresParameters.decodeHex("00") == nil && PostgresParameters.decodeHex("\\x0g") == nil)
    }
}
