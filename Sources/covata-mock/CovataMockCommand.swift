import ArgumentParser
import CovataMock
import Foundation

/// Runs covata-mock: a local stand-in for Covata's token endpoint and API.
extension MockTokenStoreKind: ExpressibleByArgument {}

@main
struct CovataMockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "covata-mock",
        abstract: "A local stand-in for the Covata Platform: token endpoint, Bearer-protected API, test controls.")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 9900
    @Option(help: "Client ID to accept.") var clientID = MockSettings().clientID
    @Option(help: "Environment variable holding the client secret to accept.") var clientSecretEnv =
        "COVATA_CLIENT_SECRET"
    @Option(help: "Username to accept.") var username = MockSettings().username
    @Option(help: "File holding the password to accept.") var passwordFile: String?
    @Option(help: "Lifetime of issued access tokens, in seconds.") var tokenLifetime: Double = 3600
    @Option(help: "Lifetime of issued refresh tokens, in seconds.") var refreshTokenLifetime: Double =
        MockSettings().refreshTokenLifetimeSeconds
    @Option(
        help: ArgumentHelp(
            "How tokens are kept: independent (every grant mints a fresh token) or spring (Spring Security OAuth2's "
                + "token store: one token per account, the same token handed back, refreshes revoke).",
            valueName: "independent|spring"))
    var tokenStore: MockTokenStoreKind = .independent
    @Option(help: "A redirect URI the client application registered (repeatable; none accepts any).")
    var redirectURI: [String] = []

    func run() async throws {
        var settings = MockSettings()
        settings.clientID = clientID
        if let secret = ProcessInfo.processInfo.environment[clientSecretEnv], !secret.isEmpty {
            settings.clientSecret = secret
        }
        settings.username = username
        if let passwordFile, let data = FileManager.default.contents(atPath: passwordFile) {
            settings.password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
        }
        settings.tokenLifetimeSeconds = tokenLifetime
        settings.refreshTokenLifetimeSeconds = refreshTokenLifetime
        settings.tokenStore = tokenStore
        settings.redirectURIs = redirectURI
        let server = try await CovataMockServer(host: host, port: port, settings: settings)
        print("covata-mock listening on http://\(host):\(server.port)")
        try await server.waitUntilClosed()
    }
}
