@testable import BankWire

/// Fuzz target `json`: the strict JSON parser (`JSONParser`, `JSONWriter`, `JSONLimits`).
///
/// Invariants checked on every input, beyond "no crash, no ASan report":
/// - an accepted input is well-formed UTF-8, and the value respects the limits it was parsed with;
/// - every number lexeme is valid RFC 8259 and `int64Value` agrees with it;
/// - parse → write → parse gives an equal value, and writing that again gives the same bytes;
/// - it agrees with an independent recogniser (`JSONGrammar`): an input is accepted exactly when it is JSON whose
///   depth, strings and numbers are within the limits, and the value has the extent the recogniser measured;
/// - a refusal points inside the input;
/// - tighter limits only ever add refusals of a limit kind: when they accept, the value is the same as with
///   the default limits, and any other refusal is the default's refusal, same kind and offset.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let loose = Result { () throws(JSONParseError) in try JSONParser.parse(bytes) }
    let tight = Result { () throws(JSONParseError) in try JSONParser.parse(bytes, limits: tightLimits) }
    switch loose {
    case .success(let value):
        checkAccepted(value, bytes: bytes, limits: .default)
    case .failure(let error):
        require(error.offset >= 0 && error.offset <= size, "offset \(error.offset) outside \(size) bytes")
        require(!error.message.isEmpty, "empty message")
    }
    let (extent, tooDeep) = JSONGrammar.recognise(bytes)
    checkAgainstGrammar(loose, extent: extent, tooDeep: tooDeep, limits: .default, bytes: bytes)
    checkAgainstGrammar(tight, extent: extent, tooDeep: tooDeep, limits: tightLimits, bytes: bytes)
    switch (tight, loose) {
    case (.success(let tightValue), .success(let looseValue)):
        checkAccepted(tightValue, bytes: bytes, limits: tightLimits)
        require(tightValue == looseValue, "tight limits gave another value for \(shown(bytes))")
    case (.success, .failure(let error)):
        require(false, "tight limits accepted what the default refused (\(error)): \(shown(bytes))")
    case (.failure(let error), .success):
        require(isLimit(error.kind), "tight limits refused an accepted input with \(error): \(shown(bytes))")
    case (.failure(let tightError), .failure(let looseError)):
        require(isLimit(tightError.kind) || tightError == looseError,
                "tight limits refused with \(tightError), the default with \(looseError): \(shown(bytes))")
    }
    return 0
}

/// Small enough for a few-hundred-byte input to reach every limit.
private let tightLimits = JSONLimits(maxDepth: 4, maxStringBytes: 16, maxNumberBytes: 8)

private func isLimit(_ kind: JSONParseError.Kind) -> Bool {
    switch kind {
    case .depthLimitExceeded, .stringTooLong, .numberTooLong: true
    default: false
    }
}

private func checkAgainstGrammar(
    _ result: Result<JSONValue, JSONParseError>, extent: JSONGrammar.Extent?, tooDeep: Bool, limits: JSONLimits,
    bytes: UnsafeBufferPointer<UInt8>
) {
    guard let extent else {
        if case .success = result {
            require(false, "accepted what is not JSON\(tooDeep ? " or nests too deep" : ""): \(shown(bytes))")
        }
        return
    }
    let within = extent.depth <= limits.maxDepth && extent.stringBytes <= limits.maxStringBytes
        && extent.numberBytes <= limits.maxNumberBytes
    switch result {
    case .success(let value):
        require(within, "accepted JSON of \(extent) past \(limits): \(shown(bytes))")
        let shape = Shape(of: value)
        let measured = JSONGrammar.Extent(depth: shape.depth, stringBytes: shape.stringBytes, numberBytes: shape.numberBytes)
        require(measured == extent, "value of extent \(measured), input of \(extent): \(shown(bytes))")
    case .failure(let error):
        require(!within, "refused JSON of \(extent) within \(limits) with \(error): \(shown(bytes))")
        require(isLimit(error.kind), "refused JSON past its limits with \(error), not a limit: \(shown(bytes))")
    }
}

private func checkAccepted(_ value: JSONValue, bytes: UnsafeBufferPointer<UInt8>, limits: JSONLimits) {
    require(utf8Text(bytes) != nil, "accepted ill-formed UTF-8: \(shown(bytes))")
    let shape = Shape(of: value)
    require(shape.depth <= limits.maxDepth, "depth \(shape.depth) over \(limits.maxDepth)")
    require(shape.stringBytes <= limits.maxStringBytes, "string of \(shape.stringBytes) bytes over \(limits.maxStringBytes)")
    require(shape.numberBytes <= limits.maxNumberBytes, "number of \(shape.numberBytes) bytes over \(limits.maxNumberBytes)")

    let written = JSONWriter.write(value)
    require(String(validating: written, as: UTF8.self) != nil, "writer produced ill-formed UTF-8")
    let reparsed: JSONValue
    do {
        reparsed = try JSONParser.parse(written)
    } catch {
        require(false, "written form \(shown(written)) does not parse: \(error)")
        return
    }
    require(reparsed == value, "round trip changed \(shown(bytes)) into \(shown(written))")
    let rewritten = JSONWriter.write(reparsed)
    require(rewritten == written, "writing is not stable: \(shown(written)) then \(shown(rewritten))")
}

/// What a parsed value holds at most: its nesting depth, longest string or key, longest number lexeme. Checks
/// each number lexeme on the way.
private struct Shape {
    var depth = 0
    var stringBytes = 0
    var numberBytes = 0

    init(of value: JSONValue) {
        visit(value, depth: 0)
    }

    private mutating func visit(_ value: JSONValue, depth: Int) {
        self.depth = max(self.depth, depth)
        switch value {
        case .null, .bool:
            break
        case .number(let lexeme):
            checkNumber(lexeme)
            numberBytes = max(numberBytes, lexeme.utf8.count)
        case .string(let text):
            stringBytes = max(stringBytes, text.utf8.count)
        case .array(let elements):
            self.depth = max(self.depth, depth + 1)
            for element in elements { visit(element, depth: depth + 1) }
        case .object(let object):
            self.depth = max(self.depth, depth + 1)
            for member in object.members {
                stringBytes = max(stringBytes, member.key.utf8.count)
                visit(member.value, depth: depth + 1)
            }
            if let last = object.members.last {
                require(object[last.key] == last.value, "lookup of the last key \(last.key.debugDescription) missed")
            }
        }
    }

    private func checkNumber(_ lexeme: String) {
        require(JSONNumberLexeme.isValid(lexeme), "invalid number lexeme \(lexeme.debugDescription)")
        let number = JSONValue.number(lexeme)
        guard let integer = number.int64Value else {
            let plain = lexeme.utf8.allSatisfy { $0 == UInt8(ascii: "-") || ($0 >= 48 && $0 <= 57) }
            require(!plain || Int64(lexeme) == nil, "int64Value missed the integer \(lexeme)")
            return
        }
        require(String(integer) == lexeme || lexeme == "-0", "int64Value \(integer) for lexeme \(lexeme)")
    }
}
