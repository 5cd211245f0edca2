import Foundation

/// Lines for people and scripts reading stdout. Written unbuffered, so a script piping the output (or a
/// test waiting for the "listening" line) sees each line at once.
enum Console {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
