import BankCore

/// One decoded request frame: `{"id": 7, "op": "transfer", "args": {...}}`. The envelope of protocol v1
/// lives here and in `Reply`; every transport (WebSocket frames, HTTP bodies) decodes through it.
public struct Request: Sendable {
    /// The client's id, echoed in the reply: an integer or a string of at most 64 characters.
    public let id: JSONValue
    public let op: Op
    public let args: Arguments

    public init(id: JSONValue, op: Op, args: Arguments) {
        self.id = id
        self.op = op
        self.args = args
    }

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
        guard let name = object["op"]?.stringValue, !name.isEmpty else {
            return .failure(.init(id: id, error: .badRequest("frame needs an op string", field: "op")))
        }
        guard let op = Op(rawValue: name) else {
            return .failure(.init(id: id, error: .badRequest("unknown op \"\(name.prefix(40))\"", field: "op")))
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
