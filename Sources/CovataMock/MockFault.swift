/// A failure the token endpoint can be told to produce, for tests and trials.
public enum MockFault: Sendable, Equatable {
    case none
    /// Answer with this status and a Spring-style error body.
    case status(Int)
    /// Answer 200 with a body that is not JSON.
    case garbage
    /// Answer 200 with JSON cut in the middle.
    case truncated
    /// Accept the request and never answer.
    case hang
    /// Answer normally after this many seconds.
    case delay(Double)
    /// Answer 200 with this token_type instead of bearer.
    case tokenType(String)
}
