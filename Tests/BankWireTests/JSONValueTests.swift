import Testing
@testable import BankWire

/// Literal construction, typed accessors and ordered-object editing.
struct JSONValueTests {
    /// Each literal kind builds the matching case; integers become their decimal lexeme.
    @Test func buildsValuesFromLiterals() {
        let value: JSONValue = ["id": 7, "ok": true, "none": nil, "list": [1, "two"], "result": ["balance": "25.50"]]
        let expected = JSONValue.object(JSONObject([
            (key: "id", value: .number("7")),
            (key: "ok", value: .bool(true)),
            (key: "none", value: .null),
            (key: "list", value: .array([.number("1"), .string("two")])),
            (key: "result", value: .object(JSONObject([(key: "balance", value: .string("25.50"))]))),
        ]))
        #expect(value == expected)
        #expect(JSONValue.integer(Int64.min) == .number("-9223372036854775808"))
    }

    /// `int64Value` only answers for plain integers that fit.
    @Test func readsInt64OnlyFromIntegerLexemesThatFit() {
        #expect(JSONValue.number("42").int64Value == 42)
        #expect(JSONValue.number("-0").int64Value == 0)
        #expect(JSONValue.number("9223372036854775807").int64Value == .max)
        #expect(JSONValue.number("-9223372036854775808").int64Value == .min)
        #expect(JSONValue.number("9223372036854775808").int64Value == nil)
        #expect(JSONValue.number("1.0").int64Value == nil)
        #expect(JSONValue.number("1e2").int64Value == nil)
        #expect(JSONValue.number("+1").int64Value == nil)
        #expect(JSONValue.string("1").int64Value == nil)
    }

    /// Accessors return `nil` for the wrong kind instead of converting.
    @Test func accessorsRefuseOtherKinds() {
        let text: JSONValue = "true"
        #expect(text.stringValue == "true")
        #expect(text.boolValue == nil)
        #expect(JSONValue.bool(false).boolValue == false)
        #expect(JSONValue.null.isNull)
        #expect(!JSONValue.string("").isNull)
        #expect(JSONValue.array([1]).arrayValue == [1])
        #expect(JSONValue.array([]).objectValue == nil)
        #expect(JSONValue.number("1.5").numberLexeme == "1.5")
        #expect(JSONValue.string("x")["key"] == nil)
    }

    /// `number(lexeme:)` accepts only the RFC 8259 number grammar.
    @Test func validatesHandBuiltNumberLexemes() {
        #expect(JSONValue.number(lexeme: "-12.5e-3") == .number("-12.5e-3"))
        for bad in ["", "-", "01", "1.", ".5", "+1", "1e", "NaN", "1 ", "0x10"] {
            #expect(JSONValue.number(lexeme: bad) == nil, "\(bad)")
        }
    }

    /// Setting a key replaces the last occurrence in place and drops earlier duplicates.
    @Test func settingKeyReplacesInPlaceAndRemovesDuplicates() {
        var object = JSONObject([(key: "a", value: 1), (key: "b", value: 2), (key: "a", value: 3), (key: "c", value: 4)])
        object["a"] = "x"
        #expect(object.keys == ["b", "a", "c"])
        #expect(object["a"] == "x")
        object["d"] = 5
        #expect(object.keys == ["b", "a", "c", "d"])
        object["b"] = nil
        #expect(object.keys == ["a", "c", "d"])
        object.append(key: "c", value: 9)
        #expect(object["c"] == 9)
        #expect(object.count == 4)
    }

    /// Object equality is order-sensitive, matching the deterministic writer.
    @Test func objectEqualityRespectsMemberOrder() {
        let ab: JSONObject = ["a": 1, "b": 2]
        let ba: JSONObject = ["b": 2, "a": 1]
        #expect(ab != ba)
        #expect(ab == JSONObject(["a": 1, "b": 2] as KeyValuePairs))
    }
}
