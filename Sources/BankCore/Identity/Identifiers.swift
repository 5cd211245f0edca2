/// Typed ids. On the wire every id is a string of decimal digits (`"1001"`); in the database an INTEGER.

public struct UserID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
    public static func < (lhs: UserID, rhs: UserID) -> Bool { lhs.rawValue < rhs.rawValue }
}

public struct AccountID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
    public static func < (lhs: AccountID, rhs: AccountID) -> Bool { lhs.rawValue < rhs.rawValue }
    /// The bank's own cash account: the other side of every deposit and withdrawal.
    public static let cash = AccountID(1)
    /// Customer account ids start here, so they never look like a system account.
    public static let firstCustomer = AccountID(1001)
}

public struct TransactionID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
    public static func < (lhs: TransactionID, rhs: TransactionID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Parses the decimal-digit form of an id: 1 to 18 digits, no sign, no leading zero.
public func parseIdentifier(_ text: String) -> Int64? {
    guard (1...18).contains(text.utf8.count), text.utf8.first != UInt8(ascii: "0") else { return nil }
    guard text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
    return Int64(text)
}
