import ArgumentParser
import CovataProxy
import Foundation

/// Signs in once with the authorization-code grant and stores the refresh token: no password at rest.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Sign in to Covata in a browser (authorization-code grant) and store the refresh token in "
            + "oauth.stateFile.",
        discussion: """
            Prints Covata's authorize URL. Open it, sign in, and approve. With a loopback http:// redirect URI the \
            browser comes back to this command by itself; otherwise (or with --paste) paste the address the browser \
            was sent to, or just the code. A running proxy picks up the new refresh token within seconds.
            """)

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Do not listen on the redirect URI; read the redirected address (or the code) from the terminal.")
    var paste = false

    @Option(help: "Give up after this many seconds.")
    var timeout: Double = 300

    func run() async throws {
        let config = try options.load()
        guard case .authorizationCode(let settings) = config.oauth.signIn else {
            Terminal.fail("\(options.config): oauth.grant: login needs \"grant\": \"authorization_code\"", code: 2)
        }
        let logger = LoggingBootstrap.makeLogger(config.log).logger
        let request = AuthorizationRequest(config: config.oauth, settings: settings)
        let answers = SignInAnswers(request: request)
        Terminal.say("Open this address in a browser, sign in to Covata and approve:\n\n  \(request.url)\n")
        if !paste, request.redirectURI.loopback != nil {
            do {
                try await answers.listen()
            } catch {
                Terminal.fail("cannot listen on \(request.redirectURI.text): \(error); try --paste", code: 1)
            }
            Terminal.say("Waiting for the browser to come back to \(request.redirectURI.text) …")
            Terminal.say("(If the browser runs on another machine, paste the address it ends up on here.)")
        } else {
            Terminal.say("Paste the address the browser ends up on (or just the code), then press Enter:")
        }
        answers.readPastes()
        let answer = await answers.first(within: timeout)
        guard case .success(let response) = answer, let code = response.code else {
            if case .failure(let error) = answer { Terminal.fail("login failed: \(error)", code: 1) }
            Terminal.fail("login failed: no code", code: 1)
        }
        let (tokens, worker) = TokenManager.standalone(config: config, logger: logger)
        defer { worker.shutdown() }
        switch await tokens.completeSignIn(code: code, request: request) {
        case .success(let token):
            Terminal.say("Signed in (jti \(token.jti ?? "-"), scope \(token.scope ?? "-")).")
            Terminal.say("Refresh token stored in \(config.oauth.stateFile?.path ?? "-").")
        case .failure(let error):
            Terminal.fail("login failed at \(config.oauth.tokenURL): \(error)", code: 1)
        }
    }
}

/// Unbuffered output for interactive commands: a caller reading the pipe sees each line at once.
enum Terminal {
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("covata-proxy: \(message)\n".utf8))
        Foundation.exit(code)
    }
}
