import BankCore
import Testing
@testable import BankWire

/// Seeded property and fuzz runs: random valid trees round-trip, random bytes never crash.
struct JSONPropertyTests {
    private static let corpus: [String] = [
        #"{"id":7,"method":"transfer","params":{"from":"ACC-1","to":"ACC-2","amount":"25.50"}}"#,
        #"[1,-0.5e+3,true,false,null,"\u00e9\ud83d\udcb6\n",{"a":[]}]"#,
        #"{"nested":{"deeper":[[[{"k":"v"}]]]},"s":"\"\\\/\b\f\r\t"}"#,
        "\"raw UTF-8 € 💶 \u{10FFFF}\"",
        "  -12.000E-05  ",
    ]

    /// Any generated value written then parsed comes back equal, and re-writing is byte-stable.
    @Test func randomValuesRoundTripThroughWriterAndParser() throws {
        var random = RandomJSON(seed: 0xBA4C_0001)
        for _ in 0..<2_000 {
            let value = random.value()
            let written = JSONWriter.write(value)
            let parsed = try JSONParser.parse(written)
            #expect(parsed == value)
            #expect(JSONWriter.write(parsed) == written)
        }
    }

    /// Generated number lexemes are all valid and survive parsing unchanged.
    @Test func randomNumberLexemesParseVerbatim() throws {
        var random = RandomJSON(seed: 42)
        for _ in 0..<2_000 {
            let lexeme = random.numberLexeme()
            #expect(try JSONParser.parse(lexeme) == .number(lexeme))
        }
    }

    /// Thousands of random byte strings only ever yield a value or a JSONParseError in range.
    @Test func randomBytesNeverCrashTheParser() {
        var rng = SplitMix64(seed: 0xF022)
        let alphabet = Array(#"{}[]:,"\\/ 0123456789-+.eEtrufalsn"#.utf8) + [0x00, 0x0A, 0x80, 0xC3, 0xE2, 0xED, 0xF0, 0xF4, 0xFF]
        for _ in 0..<5_000 {
            let count = Int.random(in: 0...48, using: &rng)
            let bytes: [UInt8] = (0..<count).map { _ in
                Int.random(in: 0..<4, using: &rng) == 0 ? UInt8.random(in: 0...255, using: &rng) : alphabet.randomElement(using: &rng)!
            }
            check(bytes)
        }
    }

    /// Mutations of valid documents (flips, inserts, deletes, truncations, splices) never crash.
    @Test func mutatedDocumentsNeverCrashTheParser() {
        var rng = SplitMix64(seed: 0x5EED)
        let seeds = Self.corpus.map { Array($0.utf8) }
        for _ in 0..<5_000 {
            var bytes = seeds.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                mutate(&bytes, using: &rng, donors: seeds)
            }
            check(bytes)
        }
    }

    private func mutate(_ bytes: inout [UInt8], using rng: inout SplitMix64, donors: [[UInt8]]) {
        let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
        switch Int.random(in: 0..<6, using: &rng) {
        case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
        case 1: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: position)
        case 2 where !bytes.isEmpty: bytes.remove(at: position)
        case 3: bytes.removeLast(bytes.count - position)
        case 4:
            let donor = donors.randomElement(using: &rng)!
            let start = Int.random(in: 0..<donor.count, using: &rng)
            bytes.insert(contentsOf: donor[start..<min(donor.count, start + Int.random(in: 1...12, using: &rng))], at: position)
        default: bytes.insert(contentsOf: Array(#"[{"":"#.utf8).shuffled(using: &rng), at: position)
        }
    }

    /// Parses `bytes`; a success must round-trip, a failure must point inside the input.
    private func check(_ bytes: [UInt8]) {
        do {
            let value = try JSONParser.parse(bytes, limits: JSONLimits(maxDepth: 8))
            let rewritten = JSONWriter.write(value)
            #expect((try? JSONParser.parse(rewritten)) == value, "\(bytes)")
        } catch {
            #expect(error.offset >= 0 && error.offset <= bytes.count, "\(bytes)")
        }
    }
}
