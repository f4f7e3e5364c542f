/// Monotonic time for the token lifecycle, injectable so tests can move time by hand.
public protocol TokenClock: Sendable {
    /// Seconds on a monotonic clock (not wall time: never jumps with NTP or daylight saving).
    var now: Double { get }
    /// Suspends for `seconds`; throws when the task is cancelled.
    func sleep(seconds: Double) async throws
}

/// The real clock.
public struct SystemTokenClock: TokenClock {
    private let origin = ContinuousClock.now

    public init() {}

    public var now: Double {
        // `components` once: each read divides a 128-bit count (every request asks the time).
        let (seconds, attoseconds) = (ContinuousClock.now - origin).components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    public func sleep(seconds: Double) async throws {
        // Rounded up: a timer that fires before its moment finds nothing due yet.
        try await Task.sleep(for: .nanoseconds(Int64((max(0, seconds) * 1e9).rounded(.up))))
    }
}
