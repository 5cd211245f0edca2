import Synchronization

/// A flag that is claimed once: the first `claim()` returns true, every later one false. Makes stop and
/// shutdown paths idempotent across threads.
public final class OnceFlag: Sendable {
    private let claimed = Atomic<Bool>(false)

    public init() {}

    /// True for the first caller only.
    public func claim() -> Bool {
        !claimed.exchange(true, ordering: .acquiringAndReleasing)
    }

    /// Whether someone claimed it.
    public var isClaimed: Bool { claimed.load(ordering: .acquiring) }
}
