import CurlClient
import ProxyConfiguration

/// Token requests over libcurl, on the same worker as the forwarded traffic (same TLS and egress settings).
public struct CurlTokenTransport: TokenTransport {
    private let worker: CurlWorker
    private let connectTimeoutMilliseconds: Int
    private let totalTimeoutMilliseconds: Int

    public init(worker: CurlWorker, timeouts: TimeoutsConfig) {
        self.worker = worker
        self.connectTimeoutMilliseconds = Int(timeouts.connectSeconds * 1000)
        self.totalTimeoutMilliseconds = Int(timeouts.tokenRequestSeconds * 1000)
    }

    public func post(url: String, headers: [(name: String, value: String)], body: [UInt8])
        async throws(TokenTransportError) -> TokenHTTPResponse
    {
        let request = CurlRequest(
            method: "POST", url: url, headers: headers, body: .bytes(body),
            connectTimeoutMilliseconds: connectTimeoutMilliseconds, totalTimeoutMilliseconds: totalTimeoutMilliseconds)
        do {
            let response = try await worker.fetch(request, maxBodyBytes: 256 * 1024)
            return TokenHTTPResponse(status: response.head.status, body: response.body)
        } catch {
            throw TokenTransportError(error.description)
        }
    }
}

extension ProxyConfig {
    /// The libcurl settings every upstream call uses.
    var curlOptions: CurlClientOptions {
        CurlClientOptions(
            caFile: tls.caFile, clientCertFile: tls.clientCertFile, clientKeyFile: tls.clientKeyFile,
            insecureSkipVerify: tls.insecureSkipVerify, egressProxy: egressProxy)
    }
}
