import Testing
@testable import BankWire

/// Every class of input RFC 8259 forbids, each pinned to the error kind and offset it reports.
struct JSONParserRejectionTests {
    private func failure(_ text: String, limits: JSONLimits = .default) -> JSONParseError? {
        do {
            _ = try JSONParser.parse(text, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    private func failure(bytes: [UInt8]) -> JSONParseError? {
        do {
            _ = try JSONParser.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    /// An empty or all-whitespace input is not a document.
    @Test func rejectsEmptyInput() {
        #expect(failure("") == JSONParseError(.unexpectedEndOfInput, at: 0))
        #expect(failure(" \n\t") == JSONParseError(.unexpectedEndOfInput, at: 3))
    }

    /// A comma directly before `]` or `}` is refused at the comma.
    @Test func rejectsTrailingComma() {
        #expect(failure("[1,2,]") == JSONParseError(.trailingComma, at: 4))
        #expect(failure(#"{"a":1 , }"#) == JSONParseError(.trailingComma, at: 7))
    }

    /// Empty elements and a leading comma are not allowed.
    @Test func rejectsMissingElements() {
        #expect(failure("[,1]") == JSONParseError(.unexpectedCharacter(UInt8(ascii: ",")), at: 1))
        #expect(failure("[1,,2]") == JSONParseError(.unexpectedCharacter(UInt8(ascii: ",")), at: 3))
        #expect(failure("{,}") == JSONParseError(.unexpectedCharacter(UInt8(ascii: ",")), at: 1))
    }

    /// Neither `//` nor `/* */` comments exist in JSON.
    @Test func rejectsComments() {
        #expect(failure("// hi\n1")?.kind == .unexpectedCharacter(UInt8(ascii: "/")))
        #expect(failure("[1 /* two */]")?.kind == .unexpectedCharacter(UInt8(ascii: "/")))
    }

    /// `01`, `-00` and friends are refused; a lone `0` and `0.5` are fine.
    @Test func rejectsLeadingZeros() {
        #expect(failure("01") == JSONParseError(.leadingZero, at: 0))
        #expect(failure("-007") == JSONParseError(.leadingZero, at: 1))
        #expect(failure("[00]")?.kind == .leadingZero)
        #expect(failure("0") == nil)
        #expect(failure("0.5") == nil)
    }

    /// Number forms outside the grammar: `+1`, `.5`, `1.`, `1e`, `-`, `1.e3`, hex.
    @Test func rejectsMalformedNumbers() {
        #expect(failure("+1")?.kind == .unexpectedCharacter(UInt8(ascii: "+")))
        #expect(failure(".5")?.kind == .unexpectedCharacter(UInt8(ascii: ".")))
        #expect(failure("[1.]") == JSONParseError(.invalidNumber, at: 3))
        #expect(failure("[1e]") == JSONParseError(.invalidNumber, at: 3))
        #expect(failure("[1e+]") == JSONParseError(.invalidNumber, at: 4))
        #expect(failure("[-]") == JSONParseError(.invalidNumber, at: 2))
        #expect(failure("[1.e3]") == JSONParseError(.invalidNumber, at: 3))
        #expect(failure("0x1F")?.kind == .trailingData)
        #expect(failure("1.") == JSONParseError(.unexpectedEndOfInput, at: 2))
    }

    /// `NaN`, `Infinity` and `-Infinity` are JavaScript, not JSON.
    @Test func rejectsNaNAndInfinity() {
        #expect(failure("NaN")?.kind == .unexpectedCharacter(UInt8(ascii: "N")))
        #expect(failure("Infinity")?.kind == .unexpectedCharacter(UInt8(ascii: "I")))
        #expect(failure("-Infinity") == JSONParseError(.invalidNumber, at: 1))
    }

    /// Misspelt or truncated `true`, `false` and `null` fail at the first wrong byte.
    @Test func rejectsMisspeltLiterals() {
        #expect(failure("tru") == JSONParseError(.unexpectedEndOfInput, at: 3))
        #expect(failure("nul1") == JSONParseError(.unexpectedCharacter(UInt8(ascii: "1")), at: 3))
        #expect(failure("False")?.kind == .unexpectedCharacter(UInt8(ascii: "F")))
        #expect(failure("truex") == JSONParseError(.trailingData, at: 4))
    }

    /// Strings must use double quotes, and so must keys.
    @Test func rejectsSingleQuotesAndBareKeys() {
        #expect(failure("'a'")?.kind == .unexpectedCharacter(UInt8(ascii: "'")))
        #expect(failure("{a:1}") == JSONParseError(.unexpectedCharacter(UInt8(ascii: "a")), at: 1))
        #expect(failure(#"{"a" 1}"#) == JSONParseError(.unexpectedCharacter(UInt8(ascii: "1")), at: 5))
        #expect(failure(#"{1:1}"#)?.kind == .unexpectedCharacter(UInt8(ascii: "1")))
    }

    /// Raw bytes below 0x20 inside a string must be escaped.
    @Test func rejectsControlCharactersInStrings() {
        #expect(failure("\"a\nb\"") == JSONParseError(.controlCharacterInString(0x0A), at: 2))
        #expect(failure("\"\t\"")?.kind == .controlCharacterInString(0x09))
        #expect(failure(bytes: [0x22, 0x00, 0x22]) == JSONParseError(.controlCharacterInString(0), at: 1))
        #expect(failure("\"\\n\u{7F}\"") == nil, "DEL may appear raw")
    }

    /// Only `\" \\ \/ \b \f \n \r \t \uXXXX` are escapes.
    @Test func rejectsUnknownEscapes() {
        #expect(failure(#""\x41""#) == JSONParseError(.invalidEscape(UInt8(ascii: "x")), at: 2))
        #expect(failure(#""\'""#)?.kind == .invalidEscape(UInt8(ascii: "'")))
        #expect(failure(#""\u12G4""#) == JSONParseError(.invalidUnicodeEscape, at: 5))
        #expect(failure(#""\u12""#) == JSONParseError(.invalidUnicodeEscape, at: 5))
    }

    /// Surrogate escapes must come as a high/low pair.
    @Test func rejectsLoneSurrogate() {
        #expect(failure(#""\uD800""#) == JSONParseError(.loneSurrogate, at: 1))
        #expect(failure(#""\uDC00""#) == JSONParseError(.loneSurrogate, at: 1))
        #expect(failure(#""\uD83D\u0041""#) == JSONParseError(.loneSurrogate, at: 1))
        #expect(failure(#""x\uD83Dabcdef""#) == JSONParseError(.loneSurrogate, at: 2))
        #expect(failure(#""\uD83D\uD83D""#)?.kind == .loneSurrogate)
    }

    /// Ill-formed UTF-8: stray continuation, overlong, encoded surrogate, > U+10FFFF, truncated.
    @Test func rejectsInvalidUTF8() {
        let quote = UInt8(ascii: "\"")
        let cases: [[UInt8]] = [
            [0x80],                    // stray continuation byte
            [0xC0, 0xAF],              // overlong '/'
            [0xE0, 0x80, 0xAF],        // overlong three-byte form
            [0xED, 0xA0, 0x80],        // encoded surrogate U+D800
            [0xF4, 0x90, 0x80, 0x80],  // U+110000
            [0xF5, 0x80, 0x80, 0x80],  // lead byte beyond the range
            [0xE2, 0x82],              // truncated euro sign
            [0xC3, 0x41],              // missing continuation
            [0xFF],
        ]
        for sequence in cases {
            let input = [quote, UInt8(ascii: "a")] + sequence + [quote]
            #expect(failure(bytes: input) == JSONParseError(.invalidUTF8, at: 2), "\(sequence)")
        }
        #expect(failure(bytes: [0xEF, 0xBB, 0xBF, 0x31])?.kind == .unexpectedCharacter(0xEF), "no BOM")
    }

    /// Nesting deeper than `maxDepth` is refused at the opening bracket that crosses it.
    @Test func rejectsDepthOverLimit() {
        let limits = JSONLimits(maxDepth: 4)
        #expect(failure("[[[[1]]]]", limits: limits) == nil)
        #expect(failure("[[[[[1]]]]]", limits: limits) == JSONParseError(.depthLimitExceeded(limit: 4), at: 4))
        #expect(failure(#"{"a":{"b":[{"c":[]}]}}"#, limits: limits)?.kind == .depthLimitExceeded(limit: 4))
        let deep = String(repeating: "[", count: 100_000)
        #expect(failure(deep)?.kind == .depthLimitExceeded(limit: 32), "no stack overflow")
    }

    /// Strings and keys longer than `maxStringBytes` (after unescaping) are refused.
    @Test func rejectsStringOverLimit() {
        let limits = JSONLimits(maxStringBytes: 4)
        #expect(failure(#""abcd""#, limits: limits) == nil)
        #expect(failure(#"["abcde"]"#, limits: limits) == JSONParseError(.stringTooLong(limit: 4), at: 1))
        #expect(failure(#"{"abcde":1}"#, limits: limits)?.kind == .stringTooLong(limit: 4))
        #expect(failure(#""\u00e9\u00e9\u00e9""#, limits: limits)?.kind == .stringTooLong(limit: 4))
        #expect(failure(#""\n\n\n\n""#, limits: limits) == nil)
    }

    /// Number lexemes longer than `maxNumberBytes` are refused.
    @Test func rejectsNumberOverLimit() {
        let limits = JSONLimits(maxNumberBytes: 5)
        #expect(failure("12345", limits: limits) == nil)
        #expect(failure("[123456]", limits: limits) == JSONParseError(.numberTooLong(limit: 5), at: 1))
    }

    /// Only whitespace may follow the top-level value.
    @Test func rejectsTrailingGarbage() {
        #expect(failure("{} x") == JSONParseError(.trailingData, at: 3))
        #expect(failure("1 2") == JSONParseError(.trailingData, at: 2))
        #expect(failure("[]]") == JSONParseError(.trailingData, at: 2))
        #expect(failure(bytes: [0x31, 0x00]) == JSONParseError(.trailingData, at: 1))
    }

    /// Unclosed strings, arrays and objects report the end of the input.
    @Test func rejectsTruncatedDocuments() {
        #expect(failure(#""abc"#) == JSONParseError(.unexpectedEndOfInput, at: 4))
        #expect(failure("[1, 2") == JSONParseError(.unexpectedEndOfInput, at: 5))
        #expect(failure(#"{"a":"#) == JSONParseError(.unexpectedEndOfInput, at: 5))
        #expect(failure(#"{"a""#) == JSONParseError(.unexpectedEndOfInput, at: 4))
        #expect(failure(#""\"#) == JSONParseError(.unexpectedEndOfInput, at: 2))
    }

    /// Errors read as a short sentence naming the byte and its offset.
    @Test func describesErrorsWithCharacterAndOffset() {
        #expect(failure(#"{"amount": x}"#)?.message == "unexpected character 'x' at byte 11")
        #expect(failure("[1,]")?.message == "trailing comma at byte 2")
        #expect(failure(bytes: [0x22, 0x01, 0x22])?.message == "unescaped control character 0x01 in string at byte 1")
        #expect(failure("")?.description == "unexpected end of input at byte 0")
    }
}
