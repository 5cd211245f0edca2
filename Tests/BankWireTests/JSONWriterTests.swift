import Testing
@testable import BankWire

/// The compact writer: escaping, ordering and exact number output.
struct JSONWriterTests {
    /// Output is compact with members in insertion order.
    @Test func writesCompactInInsertionOrder() {
        let value: JSONValue = ["z": 1, "a": [true, nil, "x"], "m": [:]]
        #expect(JSONWriter.string(value) == #"{"z":1,"a":[true,null,"x"],"m":{}}"#)
    }

    /// Quotes, backslashes and control characters are escaped; `/` and DEL are not.
    @Test func escapesOnlyWhatTheRFCRequires() {
        let value = JSONValue.string("\"\\/\u{8}\u{C}\n\r\t\u{0}\u{1F}\u{7F}")
        #expect(JSONWriter.string(value) == #""\"\\/\b\f\n\r\t\u0000\u001f"# + "\u{7F}\"")
    }

    /// Non-ASCII text is written as raw UTF-8, not `\u` escapes.
    @Test func passesNonASCIIThroughAsUTF8() {
        let bytes = JSONWriter.write(.string("€💶"))
        #expect(bytes == [0x22, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x92, 0xB6, 0x22])
    }

    /// Number lexemes come out exactly as stored.
    @Test func writesNumberLexemesVerbatim() {
        let value: JSONValue = [.number("-1.50e+3"), .number("0.10"), 7]
        #expect(JSONWriter.string(value) == "[-1.50e+3,0.10,7]")
    }

    /// `append(_:to:)` extends an existing buffer without disturbing it.
    @Test func appendsToExistingBuffer() {
        var buffer = Array("prefix:".utf8)
        JSONWriter.append(["ok": true], to: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == #"prefix:{"ok":true}"#)
    }

    /// Written text parses back to the same value, escapes and all.
    @Test func roundTripsThroughParser() throws {
        let value: JSONValue = [
            "s": "line\nbreak \"quoted\" tab\t nul\u{0} 💶",
            "n": [.number("0"), .number("-0.0"), .number("1E-7")],
            "deep": [[["x": [nil, false]]]],
            "dup": "first",
            "": "",
        ]
        #expect(try JSONParser.parse(JSONWriter.write(value)) == value)
    }

    /// Parsing then writing canonical compact JSON reproduces the input bytes.
    @Test func reproducesCanonicalInputByteForByte() throws {
        let text = #"{"id":1,"result":{"accounts":[{"iban":"X","balance":"10.00"}],"more":false},"err":null}"#
        #expect(JSONWriter.string(try JSONParser.parse(text)) == text)
    }
}
