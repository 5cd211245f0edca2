/// Array literals for text-format parameters (`$1::bigint[]`, `$2::text[]`), so that a whole batch goes in one
/// statement through `unnest`. https://www.postgresql.org/docs/15/arrays.html#ARRAYS-IO
enum PostgresArray {
    /// `{1,2,3}`.
    static func integers(_ values: [Int64]) -> String {
        "{" + values.map(String.init).joined(separator: ",") + "}"
    }

    /// `{"a","b\"c",NULL}`: every element quoted, with `"` and `\` escaped; nil is NULL.
    static func texts(_ values: [String?]) -> String {
        "{" + values.map { value in
            guard let value else { return "NULL" }
            var quoted = "\""
            for character in value.unicodeScalars {
                if character == "\"" || character == "\\" { quoted.unicodeScalars.append("\\") }
                quoted.unicodeScalars.append(character)
            }
            return quoted + "\""
        }.joined(separator: ",") + "}"
    }
}
