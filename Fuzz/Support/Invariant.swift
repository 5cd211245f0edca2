#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Stops the run when an invariant does not hold. libFuzzer treats the abort as a crash and saves the input
/// (`crash-<sha1>`); the message says which invariant and why. A plain `precondition` would trap without its
/// message in an optimised build.
func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    guard !condition() else { return }
    var report = "fuzz invariant failed at \(file):\(line): \(message())\n"
    report.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    abort()
}

/// The input as a Swift string when it is well-formed UTF-8 (what a WebSocket text frame must be), else `nil`.
func utf8Text(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
    String(validating: bytes, as: UTF8.self)
}

/// A short printable form of some bytes for invariant messages.
func shown(_ bytes: some Collection<UInt8>) -> String {
    let prefix = bytes.prefix(200)
    return String(decoding: prefix, as: UTF8.self).debugDescription + (bytes.count > 200 ? "…" : "")
}
