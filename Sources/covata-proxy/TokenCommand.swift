import ArgumentParser
import CovataProxy
import Foundation

/// Logs in once and reports the token: the first thing to run when setting up credentials.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Log in to Covata once and print the token's jti, scope and expiry.")

    @OptionGroup var options: ConfigOptions

    @Flag(name: .long, help: "Also print the access token itself (it is a credential: handle with care).")
    var showToken = false

    func run() async throws {
        let config = try options.load()
        let logger = LoggingBootstrap.makeLogger(config.log).logger
        let (result, status) = await TokenManager.loginOnce(config: config, logger: logger)
        switch result {
        case .success(let token):
            print("jti: \(token.jti ?? "-")")
            print("scope: \(token.scope ?? "-")")
            print("expires in: \(Int(token.lifetime)) s")
            if showToken { print("access token: \(token.value.value)") }
        case .failure(let error):
            let reason = status.lastError ?? "\(error)"
            FileHandle.standardError.write(
                Data("covata-proxy: login at \(config.oauth.tokenURL) failed: \(reason)\n".utf8))
            throw ExitCode(1)
        }
    }
}
