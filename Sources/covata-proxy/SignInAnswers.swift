import CovataProxy
import Foundation

/// Where the sign-in's answer may come from, first one wins: the loopback redirect listener, a paste on the
/// terminal, or the timeout.
final class SignInAnswers: Sendable {
    private let request: AuthorizationRequest
    private let stream: AsyncStream<Result<AuthorizationResponse, LoginError>>
    private let sink: AsyncStream<Result<AuthorizationResponse, LoginError>>.Continuation

    init(request: AuthorizationRequest) {
        self.request = request
        (stream, sink) = AsyncStream.makeStream()
    }

    /// Starts the one-shot redirect listener.
    func listen() async throws {
        let receiver = try await RedirectReceiver.start(for: request)
        let sink = self.sink
        Task {
            defer { Task { await receiver.close() } }
            do {
                sink.yield(.success(try await receiver.response()))
            } catch {
                sink.yield(.failure(LoginError("\(error)")))
            }
        }
    }

    /// Reads pasted lines on a thread of its own (reading the terminal blocks); unusable lines are explained and
    /// skipped. End of input simply stops it.
    func readPastes() {
        let sink = self.sink
        let request = self.request
        Thread.detachNewThread {
            while let line = readLine() {
                guard let response = AuthorizationResponse(pasted: line) else {
                    if !line.trimmingCharacters(in: .whitespaces).isEmpty {
                        Terminal.say("That is neither the redirected address nor a code; try again:")
                    }
                    continue
                }
                if let problem = response.problem(for: request), response.error == nil {
                    Terminal.say("\(problem); paste again:")
                    continue
                }
                sink.yield(.success(response))
                return
            }
        }
    }

    /// The first answer, checked against the request, or a timeout.
    func first(within seconds: Double) async -> Result<AuthorizationResponse, LoginError> {
        let sink = self.sink
        let timer = Task {
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            sink.yield(.failure(LoginError("no answer within \(Int(seconds)) s")))
        }
        defer { timer.cancel() }
        for await answer in stream {
            if case .success(let response) = answer, let problem = response.problem(for: request) {
                return .failure(LoginError(problem))
            }
            return answer
        }
        return .failure(LoginError("no answer"))
    }
}
