import CurlClient

extension ProxyConfig {
    /// The libcurl settings every upstream call uses.
    var curlOptions: CurlClientOptions {
        CurlClientOptions(
            caFile: tls.caFile, clientCertFile: tls.clientCertFile, clientKeyFile: tls.clientKeyFile,
            insecureSkipVerify: tls.insecureSkipVerify, egressProxy: egressProxy)
    }
}
