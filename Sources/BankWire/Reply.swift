import BankCore

/// Encodes replies: `{"id": 7, "ok": true, "result": {...}}` or `{"id": 7, "ok": false, "error": {...}}`.
public enum Reply {
    public static func success(id: JSONValue, result: JSONValue) -> [UInt8] {
        JSONWriter.write(.object(["id": id, "ok": true, "result": result]))
    }

    public static func failure(id: JSONValue?, error: BankError) -> [UInt8] {
        JSONWriter.write(.object(["id": id ?? .null, "ok": false, "error": errorObject(error)]))
    }

    public static func errorObject(_ error: BankError) -> JSONValue {
        var object: JSONObject = ["code": .string(error.code.rawValue), "message": .string(error.message)]
        if let field = error.field { object.append(key: "field", value: .string(field)) }
        if let seconds = error.retryAfterSeconds { object.append(key: "retry_after", value: .integer(seconds)) }
        if let challenge = error.challenge { object.append(key: "challenge", value: .string(challenge)) }
        if let expiresAt = error.expiresAt { object.append(key: "expires_at", value: .string(expiresAt)) }
        return .object(object)
    }
}
