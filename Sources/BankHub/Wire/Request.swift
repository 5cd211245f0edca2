import BankCore
import BankWire

/// One decoded request frame: `{"id": 7, "op": "transfer", "args": {...}}`.
public struct Request: Sendable {
    /// The client's id, echoed in the reply: an integer or a string of at most 64 characters.
    public let id: JSONValue
    public let op: String
    public let args: Arguments

    /// Decodes a frame. A failure carries the id when one could be read, so the error reply can echo it.
    public static func decode(_ bytes: [UInt8]) -> Result<Request, RequestDecodingFailure> {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            return .failure(.init(id: nil, error: .badRequest("frame is not valid JSON: \(error.message)")))
        }
        guard let object = value.objectValue else {
            return .failure(.init(id: nil, error: .badRequest("frame must be a JSON object")))
        }
        guard let id = object["id"], isValidID(id) else {
            return .failure(.init(id: nil, error: .badRequest("frame needs an id: an integer or a string of at most 64 characters", field: "id")))
        }
        guard let op = object["op"]?.stringValue, !op.isEmpty else {
            return .failure(.init(id: id, error: .badRequest("frame needs an op string", field: "op")))
        }
        let args: JSONObject
        switch object["args"] {
        case nil, .null?: args = JSONObject()
        case .object(let given)?: args = given
        default: return .failure(.init(id: id, error: .badRequest("args must be an object", field: "args")))
        }
        return .success(Request(id: id, op: op, args: Arguments(args)))
    }

    private static func isValidID(_ id: JSONValue) -> Bool {
        switch id {
        case .number: return id.int64Value != nil
        case .string(let text): return text.utf8.count <= 64
        default: return false
        }
    }
}

public struct RequestDecodingFailure: Error, Sendable {
    public let id: JSONValue?
    public let error: BankError
}
