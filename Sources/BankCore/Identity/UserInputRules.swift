/// The rules for what people type at sign-up and into notes, checked before anything is stored.
public enum UserInputRules {
    public static let usernameLength = 3...32
    public static let passwordLength = 8...256
    public static let emailLengthMax = 254
    public static let fullNameLengthMax = 100
    public static let noteLengthMax = 140
    public static let accountNameLengthMax = 64

    /// Lower-cases and checks a username: 3–32 of `a-z 0-9 _ . -`.
    public static func username(_ raw: String) throws(BankError) -> String {
        let name = raw.lowercased()
        let allowed = name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || "_.-".utf8.contains(byte)
        }
        guard usernameLength.contains(name.utf8.count), allowed else {
            throw .badRequest("username must be 3 to 32 characters of a-z 0-9 _ . -", field: "username")
        }
        return name
    }

    /// Lower-cases a username given to `login`: one longer than sign-up allows cannot exist, so it is refused
    /// before anything is looked up or stored (the login history stores the name tried).
    public static func loginUsername(_ raw: String) throws(BankError) -> String {
        let name = raw.lowercased()
        guard name.utf8.count <= usernameLength.upperBound else {
            throw .badRequest("username must be at most \(usernameLength.upperBound) characters", field: "username")
        }
        return name
    }

    public static func password(_ password: String, field: String = "password") throws(BankError) {
        guard passwordLength.contains(password.count) else {
            throw .badRequest("\(field) must be 8 to 256 characters", field: field)
        }
    }

    public static func email(_ email: String) throws(BankError) {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.utf8.count <= emailLengthMax, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
              !email.contains(where: { $0.isWhitespace }) else {
            throw .badRequest("email must look like name@example.com", field: "email")
        }
    }

    public static func phone(_ phone: String) throws(BankError) {
        let digits = phone.hasPrefix("+") ? phone.dropFirst() : Substring(phone)
        guard (6...15).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw .badRequest("phone must be + and 6 to 15 digits", field: "phone")
        }
    }

    public static func text(_ text: String, field: String, lengthMax: Int) throws(BankError) {
        guard text.count <= lengthMax, !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .badRequest("\(field) must be at most \(lengthMax) characters with no control characters", field: field)
        }
    }
}
