import Testing
@testable import BankWire

/// What the parser accepts and the values it builds from it.
struct JSONParserAcceptanceTests {
    /// A typical request frame parses into the expected ordered object.
    @Test func parsesRequestObject() throws {
        let text = #"{"id":7,"method":"transfer","params":{"from":"ACC-1","to":"ACC-2","amount":"25.50","memo":null,"urgent":false}}"#
        let value = try JSONParser.parse(text)
        let expected: JSONValue = [
            "id": 7, "method": "transfer",
            "params": ["from": "ACC-1", "to": "ACC-2", "amount": "25.50", "memo": nil, "urgent": false],
        ]
        #expect(value == expected)
        #expect(value.objectValue?.keys == ["id", "method", "params"])
    }

    /// Every scalar kind parses at the top level, surrounded by any RFC whitespace.
    @Test func parsesScalarsAtTopLevel() throws {
        #expect(try JSONParser.parse(" \t\r\nnull\n") == .null)
        #expect(try JSONParser.parse("true") == .bool(true))
        #expect(try JSONParser.parse("false") == .bool(false))
        #expect(try JSONParser.parse("\"hi\"") == .string("hi"))
        #expect(try JSONParser.parse("-0") == .number("-0"))
        #expect(try JSONParser.parse("[]") == .array([]))
        #expect(try JSONParser.parse("{ }") == .object(JSONObject()))
    }

    /// Numbers keep their exact lexeme; nothing is rounded through `Double`.
    @Test func keepsNumberLexemesVerbatim() throws {
        for lexeme in ["0", "-0", "42", "-1.5e3", "1E+2", "0.000001", "2.50", "123456789012345678901234567890.123456789"] {
            #expect(try JSONParser.parse(lexeme) == .number(lexeme))
        }
    }

    /// All two-character escapes decode to their characters.
    @Test func decodesSimpleEscapes() throws {
        let value = try JSONParser.parse(#""q\" b\\ s\/ \b\f\n\r\t end""#)
        #expect(value == .string("q\" b\\ s/ \u{8}\u{C}\n\r\t end"))
    }

    /// `\uXXXX` escapes decode, in either hex case, including surrogate pairs.
    @Test func decodesUnicodeEscapesAndSurrogatePairs() throws {
        #expect(try JSONParser.parse(#""\u0041\u00e9\u20AC""#) == .string("Aé€"))
        #expect(try JSONParser.parse(#""\uD83D\uDCB6""#) == .string("💶"))
        #expect(try JSONParser.parse(#""\ud83d\udcb6x""#) == .string("💶x"))
        #expect(try JSONParser.parse(#""\u0000""#) == .string("\u{0}"))
    }

    /// Raw UTF-8 of every length passes through unchanged.
    @Test func acceptsRawMultibyteUTF8() throws {
        let text = "\"£ € 💶 \u{10FFFF} \u{FEFF}\""
        #expect(try JSONParser.parse(text) == .string("£ € 💶 \u{10FFFF} \u{FEFF}"))
    }

    /// Duplicate keys are kept, and lookups see the last one.
    @Test func keepsDuplicateKeysAndReadsLast() throws {
        let value = try JSONParser.parse(#"{"a":1,"b":2,"a":3}"#)
        #expect(value.objectValue?.count == 3)
        #expect(value["a"] == 3)
        #expect(value["b"] == 2)
    }

    /// The parser reads from arrays, slices, raw buffers and strings alike.
    @Test func parsesFromEveryInputKind() throws {
        let bytes = Array(#"{"k":[1,"v"]}"#.utf8)
        let expected: JSONValue = ["k": [1, "v"]]
        #expect(try JSONParser.parse(bytes) == expected)
        #expect(try JSONParser.parse(([0x20] + bytes)[1...]) == expected)
        #expect(try bytes.withUnsafeBytes { raw in try JSONParser.parse(raw) } == expected)
        #expect(try JSONParser.parse(#"{"k":[1,"v"]}"#.utf8) == expected)
        #expect(try JSONParser.parse(Set([UInt8(ascii: "7")])) == 7)
    }

    /// Nesting exactly at the depth limit is fine.
    @Test func acceptsNestingAtDepthLimit() throws {
        let text = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        _ = try JSONParser.parse(text)
    }
}
