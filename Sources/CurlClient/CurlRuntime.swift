import CCurl

/// Process-wide libcurl initialisation, done exactly once before any handle exists.
public enum CurlRuntime {
    /// Swift runs a global's initialiser once, thread-safely, which is what `curl_global_init` needs.
    private static let initialised: Bool = {
        curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK
    }()

    static func ensureInitialised() {
        precondition(initialised, "curl_global_init failed")
    }

    /// The libcurl version string, for `/status` and logs.
    public static var version: String {
        ensureInitialised()
        return String(cString: curl_version())
    }
}
