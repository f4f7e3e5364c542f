import CurlClient

/// What this build is: one source for `--version`, `/status` and `covata_proxy_build_info`.
public enum BuildInfo {
    public static let version = "0.4.0"

    /// The Swift compiler that built it, major.minor.
    public static let swift: String = {
        #if compiler(>=6.4)
            "6.4"
        #elseif compiler(>=6.3)
            "6.3"
        #elseif compiler(>=6.2)
            "6.2"
        #else
            "6.1"
        #endif
    }()

    /// The version of the libcurl the process runs with (not the one it was built against), e.g. `7.88.1`.
    public static var libcurl: String {
        let first = CurlRuntime.version.split(separator: " ").first ?? ""
        return first.hasPrefix("libcurl/") ? String(first.dropFirst("libcurl/".count)) : String(first)
    }

    /// `covata-proxy 0.4.0 (libcurl 7.88.1, Swift 6.3)`.
    public static var line: String { "covata-proxy \(version) (libcurl \(libcurl), Swift \(swift))" }
}
