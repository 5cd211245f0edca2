/// The members of a JSON object, in the order they were parsed or inserted.
///
/// Duplicate keys are kept as they arrived (RFC 8259 leaves their meaning open); lookups by key
/// see the **last** occurrence, matching what most JSON implementations do. Equality is
/// member-by-member in order, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are different values: the
/// hub always writes members in a fixed order, and a stable order keeps frames reproducible.
public struct JSONObject: Sendable, Equatable {
    public typealias Member = (key: String, value: JSONValue)

    /// The members in order, duplicates included.
    public private(set) var members: [Member]

    /// An empty object.
    public init() {
        members = []
    }

    /// An object holding `members` in the given order.
    public init(_ members: [Member]) {
        self.members = members
    }

    /// An object built from literal-style pairs: `JSONObject(["id": 7, "ok": true])`.
    public init(_ pairs: KeyValuePairs<String, JSONValue>) {
        members = pairs.map { (key: $0.key, value: $0.value) }
    }

    /// The value of the last member named `key`.
    ///
    /// Setting a value replaces the last member named `key` in place (earlier duplicates are
    /// removed) or appends a new member; setting `nil` removes every member named `key`.
    public subscript(key: String) -> JSONValue? {
        get {
            lastIndex(of: key).map { members[$0].value }
        }
        set {
            guard let newValue else {
                members.removeAll { $0.key == key }
                return
            }
            guard let last = lastIndex(of: key) else {
                members.append((key: key, value: newValue))
                return
            }
            members[last].value = newValue
            if members[..<last].contains(where: { $0.key == key }) {
                members = members.enumerated()
                    .filter { $0.offset >= last || $0.element.key != key }
                    .map(\.element)
            }
        }
    }

    /// Appends a member even if `key` is already present (the new member then wins lookups).
    public mutating func append(key: String, value: JSONValue) {
        members.append((key: key, value: value))
    }

    /// The member keys in order, duplicates included.
    public var keys: [String] {
        members.map(\.key)
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    private func lastIndex(of key: String) -> Int? {
        members.lastIndex { $0.key == key }
    }
}

extension JSONObject: RandomAccessCollection {
    public var startIndex: Int { members.startIndex }
    public var endIndex: Int { members.endIndex }
    public subscript(position: Int) -> Member { members[position] }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        members = elements.map { (key: $0.0, value: $0.1) }
    }
}
