import Foundation

/// Runs blocking socket work (connect, a whole HTTP exchange) on a thread of its own and awaits its result, so
/// a test or probe never blocks one of Swift's few cooperative threads.
func runOnOwnThread<Result: Sendable>(
    _ work: @escaping @Sendable () throws(WebSocketClientError) -> Result
) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do throws(WebSocketClientError) {
                continuation.resume(returning: try work())
            } catch {
                continuation.resume(throwing: error)
            }
        }
        thread.start()
    }
}
