import BankCore

/// Typed access to a request's `args`, turning every mistake into a `bad_request` (or `invalid_amount`) that
/// names the field. Unknown fields are ignored so that clients can be newer than the hub.
public struct Arguments: Sendable {
    public let object: JSONObject

    public init(_ object: JSONObject) {
        self.object = object
    }

    public func has(_ name: String) -> Bool {
        guard let value = object[name] else { return false }
        return !value.isNull
    }

    public func string(_ name: String) throws(BankError) -> String {
        guard let value = object[name], !value.isNull else { throw .badRequest("\(name) is required", field: name) }
        guard let text = value.stringValue else { throw .badRequest("\(name) must be a string", field: name) }
        return text
    }

    public func optionalString(_ name: String) throws(BankError) -> String? {
        has(name) ? try string(name) : nil
    }

    /// Free text such as a note or a name: bounded length, no control characters; empty means absent.
    public func optionalText(_ name: String, lengthMax: Int) throws(BankError) -> String? {
        guard let text = try optionalString(name), !text.isEmpty else { return nil }
        try UserInputRules.text(text, field: name, lengthMax: lengthMax)
        return text
    }

    /// An id given as a decimal string (`"1001"`) or a JSON integer.
    public func identifier(_ name: String) throws(BankError) -> Int64 {
        guard let value = object[name], !value.isNull else { throw .badRequest("\(name) is required", field: name) }
        if let number = value.int64Value, number > 0 { return number }
        if let text = value.stringValue, let number = parseIdentifier(text) { return number }
        throw .badRequest("\(name) must be an id such as \"1001\"", field: name)
    }

    public func account(_ name: String) throws(BankError) -> AccountID {
        AccountID(try identifier(name))
    }

    /// A money amount: only a decimal string is accepted; a JSON number is refused so no float ever carries money.
    public func amount(_ name: String = "amount") throws(BankError) -> Money {
        guard let value = object[name], !value.isNull else { throw .badRequest("\(name) is required", field: name) }
        guard let text = value.stringValue else {
            throw BankError(.invalidAmount, "\(name) must be a decimal string such as \"25.50\", not a JSON number",
                            field: name)
        }
        return try Money.parseAmount(text, field: name)
    }

    public func optionalInteger(_ name: String, in range: ClosedRange<Int64>) throws(BankError) -> Int64? {
        guard has(name) else { return nil }
        guard let number = object[name]?.int64Value, range.contains(number) else {
            throw .badRequest("\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)", field: name)
        }
        return number
    }

    public func timestamp(_ name: String) throws(BankError) -> Timestamp {
        let text = try string(name)
        guard let time = Timestamp.parse(rfc3339: text) else {
            throw .badRequest("\(name) must be an RFC 3339 time in years 0000 to 9999 (UTC) such as 2026-11-25T19:01:00Z", field: name)
        }
        return time
    }

    public func idempotencyKey() throws(BankError) -> String? {
        guard let key = try optionalString("idempotency_key") else { return nil }
        try IdempotencyRegistry.validate(key: key)
        return key
    }
}
