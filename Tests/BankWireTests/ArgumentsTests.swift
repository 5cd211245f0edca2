import BankCore
import Testing
import BankWire

/// What handlers get from `Arguments` for inputs the fuzz targets found.
struct ArgumentsTests {
    private func arguments(_ frame: String) throws -> Arguments {
        try Request.decode(Array(frame.utf8)).get().args
    }

    /// `at` outside years 0000–9999 once in UTC is `bad_request` naming `at`, not a time the reply would show as
    /// `10000-01-01T00:29:59.999Z` or `00-1-12-31T23:00:00.000Z`.
    @Test(arguments: ["9999-12-31T23:59:59.999-00:30", "0000-01-01T00:00:00+01:00"])
    func timestampRejectsTimesOutsideFourDigitYears(text: String) throws {
        let args = try arguments(#"{"id":1,"op":"balance_at","args":{"account":"1001","at":"\#(text)"}}"#)
        #expect {
            _ = try args.timestamp("at")
        } throws: { error in
            (error as? BankError)?.code == .badRequest && (error as? BankError)?.field == "at"
        }
    }
}
