import BankCore
import BankWire

/// Fuzz target `request`: the protocol envelope (`Request.decode`), the typed argument accessors a handler
/// calls next (`Arguments`), and the replies built from either outcome (`Reply`).
///
/// Invariants checked on every input, beyond "no crash, no ASan report":
/// - a decoded request's id is an integer that fits Int64 or a string of at most 64 UTF-8 bytes, its op is the
///   frame's `op` spelled byte for byte, and its args are the frame's `args` object (or empty);
/// - a refusal is `bad_request`; the id it carries, if any, is valid too; its reply parses, echoes that id and
///   is no larger than the frame plus a fixed 512 bytes (garbage in cannot amplify out);
/// - each accessor either returns a value inside its documented bounds (amounts round-trip through their wire
///   form, times through RFC 3339) or throws `bad_request`/`invalid_amount` naming the argument.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let frame = Array(UnsafeBufferPointer(start: data, count: size))
    switch Request.decode(frame) {
    case .success(let request):
        checkDecoded(request, frame: frame)
        checkReply(Reply.success(id: request.id, result: .null), echoes: request.id, ok: true, frame: frame)
        checkArguments(request.args)
    case .failure(let failure):
        require(failure.error.code == .badRequest, "refusal with code \(failure.error.code)")
        if let id = failure.id { require(isValidID(id), "refusal carries an invalid id \(id)") }
        checkReply(Reply.failure(id: failure.id, error: failure.error), echoes: failure.id ?? .null, ok: false,
                   frame: frame)
    }
    return 0
}

private func isValidID(_ id: JSONValue) -> Bool {
    switch id {
    case .number: id.int64Value != nil
    case .string(let text): text.utf8.count <= 64
    default: false
    }
}

private func checkDecoded(_ request: Request, frame: [UInt8]) {
    require(isValidID(request.id), "decoded an invalid id \(request.id)")
    guard let object = (try? JSONParser.parse(frame))?.objectValue else {
        require(false, "decoded a frame that is not a JSON object: \(shown(frame))")
        return
    }
    require(object["id"] == request.id, "id is not the frame's")
    let name = object["op"]?.stringValue ?? ""
    require(request.op.rawValue.utf8.elementsEqual(name.utf8),
            "op \(request.op.rawValue) decoded from \(name.debugDescription)")
    let args = object["args"]?.objectValue ?? JSONObject()
    require(request.args.object == args, "args are not the frame's")
}

private func checkReply(_ reply: [UInt8], echoes id: JSONValue, ok: Bool, frame: [UInt8]) {
    require(reply.count <= frame.count + 512, "reply of \(reply.count) bytes to a frame of \(frame.count)")
    guard let object = (try? JSONParser.parse(reply))?.objectValue else {
        require(false, "reply does not parse: \(shown(reply))")
        return
    }
    require(object["id"] == id, "reply id \(String(describing: object["id"])) is not \(id)")
    require(object["ok"] == .bool(ok), "reply ok is not \(ok)")
}

/// Calls the accessors the money, history and subscribe handlers use, on whatever the args hold.
private func checkArguments(_ args: Arguments) {
    accessor("amount") { () throws(BankError) in
        let amount = try args.amount()
        require(amount.isPositive && amount <= Money.amountMax, "amount \(amount) out of bounds")
        require((try? Money.parseAmount(amount.description)) == amount, "amount \(amount) does not round-trip")
    }
    for name in ["account", "from", "to"] {
        accessor(name) { () throws(BankError) in
            let id = try args.identifier(name)
            require(id > 0, "identifier \(id) is not positive")
            let given = args.object[name]
            require(given?.stringValue == String(id) || given?.int64Value == id, "identifier \(id) is not what was sent")
        }
    }
    accessor("at") { () throws(BankError) in
        let time = try args.timestamp("at")
        require(Timestamp.parse(rfc3339: time.rfc3339) == time,
                "time \(time.milliseconds) ms shows as \(time.rfc3339), which does not parse back")
    }
    accessor("idempotency_key") { () throws(BankError) in
        guard let key = try args.idempotencyKey() else { return }
        require((1...64).contains(key.utf8.count), "idempotency key of \(key.utf8.count) bytes")
    }
    accessor("note") { () throws(BankError) in
        guard let note = try args.optionalText("note", lengthMax: UserInputRules.noteLengthMax) else { return }
        require(note.count <= UserInputRules.noteLengthMax, "note of \(note.count) characters")
    }
    accessor("limit") { () throws(BankError) in
        guard let limit = try args.optionalInteger("limit", in: 1...500) else { return }
        require((1...500).contains(limit), "limit \(limit) out of range")
    }
}

/// Runs one accessor: a refusal must be `bad_request` or `invalid_amount` and name the argument.
private func accessor(_ name: String, _ body: () throws(BankError) -> Void) {
    do {
        try body()
    } catch {
        require(error.code == .badRequest || error.code == .invalidAmount, "\(name) refused with \(error.code)")
        require(error.field == name, "\(name) refused naming \(String(describing: error.field))")
    }
}
