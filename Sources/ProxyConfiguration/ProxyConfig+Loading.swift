import Foundation
import Logging

extension ProxyConfig {
    /// Reads and validates a proxy.json file. Secrets are resolved from `environment` and files now.
    public static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> ProxyConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("", "cannot read config file \(path): \(Self.whyUnreadable(path))")
        }
        // Whoever can change it can send the credentials anywhere (oauth.tokenURL).
        if let problem = FileTrust.fileProblem(path) { throw ConfigError("", "config file refused: \(problem)") }
        let directory = (path as NSString).deletingLastPathComponent
        var config = try parse(data, environment: environment, baseDirectory: directory.isEmpty ? "." : directory)
        config.sourcePath = path
        return config
    }

    /// Why a file that could not be read could not be read, in the words an operator searches for.
    static func whyUnreadable(_ path: String) -> String {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return "no such file" }
        if isFolder.boolValue { return "is a directory" }
        return FileManager.default.isReadableFile(atPath: path) ? "cannot be read" : "permission denied"
    }

    /// Validates a proxy.json document.
    public static func parse(
        _ data: Data, environment: [String: String], baseDirectory: String = "."
    ) throws(ConfigError) -> ProxyConfig {
        let document = try JSONValue.parse(Array(data))
        let root = try ConfigReader(value: document, path: "", environment: environment, baseDirectory: baseDirectory)
        try root.rejectUnknownKeys([
            "$schema", "routes", "oauth", "admin", "tls", "egressProxy", "log", "timeouts", "limits", "reload",
        ])
        let routes = try parseRoutes(root)
        guard let oauthReader = try root.object("oauth") else {
            throw ConfigError("oauth", "required object is missing")
        }
        let admin = try root.object("admin").map { reader throws(ConfigError) in try parseAdmin(reader) }
        let tls = try root.object("tls").map { reader throws(ConfigError) in try parseTLS(reader) }
        let egressProxy = try root.string("egressProxy").map { text throws(ConfigError) in
            try Self.parseEgressProxy(text, keyPath: root.keyPath("egressProxy"))
        }
        let log = try root.object("log").map { reader throws(ConfigError) in try parseLog(reader) }
        let timeouts = try root.object("timeouts").map { reader throws(ConfigError) in try parseTimeouts(reader) }
        let limits = try root.object("limits").map { reader throws(ConfigError) in try parseLimits(reader) }
        var watchFiles = true
        if let reload = try root.object("reload") {
            try reload.rejectUnknownKeys(["watchFiles"])
            watchFiles = try reload.bool("watchFiles", default: true)
        }
        var config = ProxyConfig(
            routes: routes,
            oauth: try parseOAuth(oauthReader),
            admin: admin,
            tls: tls ?? .systemDefault,
            egressProxy: egressProxy,
            log: log ?? LogConfig(level: .info, format: nil),
            timeouts: timeouts ?? .defaults,
            limits: limits ?? .defaults,
            watchFiles: watchFiles,
            secretFiles: root.secretFiles.sources
        )
        try config.checkListenersAreDistinct()
        config.secretHints = root.secretFiles.hints
        return config
    }

    private static func parseRoutes(_ root: ConfigReader) throws(ConfigError) -> [RouteConfig] {
        guard let items = try root.array("routes"), !items.isEmpty else {
            throw ConfigError("routes", "expected a non-empty array of {\"listen\", \"upstream\"} objects")
        }
        var routes: [RouteConfig] = []
        for (index, item) in items.enumerated() {
            let route = try root.child(item, path: "routes[\(index)]")
            try route.rejectUnknownKeys([
                "listen", "upstream", "hosts", "allowNonLoopback", "allowPlainHTTP", "requireHeader", "allowMethods",
                "allowPaths", "socketMode", "rewriteRedirects",
            ])
            let listen = try parseListen(route)
            let upstream = try UpstreamURL.parse(
                try route.requiredString("upstream"), keyPath: route.keyPath("upstream"),
                allowPlainHTTP: try route.bool("allowPlainHTTP", default: false))
            var hosts: [String] = []
            for (hostIndex, value) in (try route.array("hosts") ?? []).enumerated() {
                guard case .string(let name) = value, !name.isEmpty, !name.contains("/"), !name.contains(":") else {
                    throw ConfigError(
                        route.keyPath("hosts[\(hostIndex)]"), "expected a host name such as covata.internal")
                }
                hosts.append(name)
            }
            routes.append(
                RouteConfig(
                    listen: listen, upstream: upstream, hosts: hosts, access: try parseAccess(route),
                    rewriteRedirects: try route.bool("rewriteRedirects", default: true)))
        }
        return routes
    }

    /// A listen address; anything reachable from other machines needs `allowNonLoopback`.
    static func parseListen(_ reader: ConfigReader) throws(ConfigError) -> ListenAddress {
        let path = reader.keyPath("listen")
        let listen = try ListenAddress.parse(try reader.requiredString("listen"), keyPath: path)
        // Read whatever the address, so a mistyped value is an error even where it changes nothing.
        let allowNonLoopback = try reader.bool("allowNonLoopback", default: false)
        if !listen.isLocalOnly, !allowNonLoopback {
            throw ConfigError(
                path,
                "\(listen) is reachable from other machines, which lets them use the Covata credential; "
                    + "bind to loopback or a unix socket, or set allowNonLoopback")
        }
        if case .unix(let socket) = listen, let problem = unixSocketProblem(socket) {
            throw ConfigError(path, problem)
        }
        return listen
    }

    /// A unix socket path may replace only a stale socket, in a folder others cannot write (unless the sticky bit
    /// stops them from replacing what is not theirs, as in /tmp).
    static func unixSocketProblem(_ path: String) -> String? {
        let manager = FileManager.default
        if let type = try? manager.attributesOfItem(atPath: path)[.type] as? FileAttributeType, type != .typeSocket {
            return "\(path) exists and is not a socket; it is never removed to make room (choose another path)"
        }
        let folder = (path as NSString).deletingLastPathComponent
        guard let attributes = try? manager.attributesOfItem(atPath: folder),
            attributes[.type] as? FileAttributeType == .typeDirectory
        else { return "folder \(folder) does not exist" }
        // Others who can write the folder (or own it) could replace the socket with theirs.
        return FileTrust.folderProblem(folder).map { "the socket's \($0)" }
    }

    private static func parseAdmin(_ reader: ConfigReader) throws(ConfigError) -> AdminConfig {
        try reader.rejectUnknownKeys(["listen", "allowNonLoopback"])
        return AdminConfig(listen: try parseListen(reader))
    }

    private static func parseTLS(_ reader: ConfigReader) throws(ConfigError) -> TLSConfig {
        try reader.rejectUnknownKeys(["caFile", "clientCertFile", "clientKeyFile", "insecureSkipVerify"])
        var files: [String: String] = [:]
        for key in ["caFile", "clientCertFile", "clientKeyFile"] {
            guard let file = try reader.string(key).map(reader.resolvePath) else { continue }
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw ConfigError(reader.keyPath(key), "file \(file) does not exist or cannot be read")
            }
            files[key] = file
        }
        if (files["clientCertFile"] == nil) != (files["clientKeyFile"] == nil) {
            throw ConfigError(reader.keyPath("clientKeyFile"), "clientCertFile and clientKeyFile go together")
        }
        return TLSConfig(
            caFile: files["caFile"], clientCertFile: files["clientCertFile"], clientKeyFile: files["clientKeyFile"],
            insecureSkipVerify: try reader.bool("insecureSkipVerify", default: false))
    }

    private static func parseLog(_ reader: ConfigReader) throws(ConfigError) -> LogConfig {
        try reader.rejectUnknownKeys(["level", "format", "accessLog"])
        guard let level = Logger.Level(rawValue: try reader.string("level") ?? "info") else {
            throw ConfigError(reader.keyPath("level"), "expected one of \(LogConfig.levelNames)")
        }
        var format: LogConfig.Format?
        if let text = try reader.string("format") {
            guard let parsed = LogConfig.Format(rawValue: text) else {
                throw ConfigError(reader.keyPath("format"), "expected \"json\" or \"text\"")
            }
            format = parsed
        }
        return LogConfig(level: level, format: format, accessLog: try reader.bool("accessLog", default: true))
    }

    private static func parseTimeouts(_ reader: ConfigReader) throws(ConfigError) -> TimeoutsConfig {
        try reader.rejectUnknownKeys([
            "connectSeconds", "tokenRequestSeconds", "firstByteSeconds", "clientHeaderSeconds",
            "clientBodyIdleSeconds", "clientIdleSeconds", "drainSeconds", "clientFirstRequestSeconds",
        ])
        let defaults = TimeoutsConfig.defaults
        func seconds(_ key: String, _ fallback: Double, _ range: ClosedRange<Double>) throws(ConfigError) -> Double {
            try reader.seconds(key, default: fallback, range: range)
        }
        return TimeoutsConfig(
            connectSeconds: try seconds("connectSeconds", defaults.connectSeconds, 0.1...300),
            tokenRequestSeconds: try seconds("tokenRequestSeconds", defaults.tokenRequestSeconds, 0.1...300),
            firstByteSeconds: try seconds("firstByteSeconds", defaults.firstByteSeconds, 0.1...3600),
            clientHeaderSeconds: try seconds("clientHeaderSeconds", defaults.clientHeaderSeconds, 0.1...600),
            clientBodyIdleSeconds: try seconds("clientBodyIdleSeconds", defaults.clientBodyIdleSeconds, 0.1...3600),
            clientIdleSeconds: try seconds("clientIdleSeconds", defaults.clientIdleSeconds, 0.1...3600),
            drainSeconds: try seconds("drainSeconds", defaults.drainSeconds, 0...3600),
            clientFirstRequestSeconds: try seconds(
                "clientFirstRequestSeconds", defaults.clientFirstRequestSeconds, 0.1...3600)
        )
    }

    private static func parseLimits(_ reader: ConfigReader) throws(ConfigError) -> LimitsConfig {
        try reader.rejectUnknownKeys([
            "maxRequestBodyBytes", "replayBufferBytes", "maxHeaderBytes", "maxHeaderCount", "replayBudgetBytes",
            "maxConcurrentRequests", "maxConnections", "minUploadBytesPerSecond", "answerHalfClosedClients",
        ])
        let defaults = LimitsConfig.defaults
        func count(_ key: String, _ fallback: Double, _ range: ClosedRange<Double>) throws(ConfigError) -> Double {
            let value = try reader.seconds(key, default: fallback, range: range)
            guard value == value.rounded() else { throw ConfigError(reader.keyPath(key), "expected a whole number") }
            return value
        }
        var limits = LimitsConfig(
            maxRequestBodyBytes: Int64(
                try count("maxRequestBodyBytes", Double(defaults.maxRequestBodyBytes), 0...1e15)),
            replayBufferBytes: Int(
                try count("replayBufferBytes", Double(defaults.replayBufferBytes), 0...1_073_741_824)),
            maxHeaderBytes: Int(try count("maxHeaderBytes", Double(defaults.maxHeaderBytes), 1024...16_777_216)),
            maxHeaderCount: Int(try count("maxHeaderCount", Double(defaults.maxHeaderCount), 8...10_000)),
            replayBudgetBytes: Int(
                try count("replayBudgetBytes", Double(defaults.replayBudgetBytes), 0...17_179_869_184)),
            maxConcurrentRequests: Int(
                try count("maxConcurrentRequests", Double(defaults.maxConcurrentRequests), 1...1_000_000)),
            maxConnections: Int(try count("maxConnections", Double(defaults.maxConnections), 1...1_000_000)),
            minUploadBytesPerSecond: Int(
                try count("minUploadBytesPerSecond", Double(defaults.minUploadBytesPerSecond), 0...1_073_741_824))
        )
        limits.answerHalfClosedClients = try reader.bool("answerHalfClosedClients", default: false)
        return limits
    }

    /// `host:port` means `http://host:port`; otherwise a proxy URL libcurl understands, with a host.
    static func parseEgressProxy(_ text: String, keyPath: String) throws(ConfigError) -> String {
        let url = text.contains("://") ? text : "http://\(text)"
        let schemes = ["http", "https", "socks4", "socks4a", "socks5", "socks5h"]
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            schemes.contains(scheme), let host = components.host, !host.isEmpty, !host.contains(" "),
            components.path.isEmpty || components.path == "/", components.query == nil, components.fragment == nil
        else {
            throw ConfigError(
                keyPath, "expected host:port or a proxy URL (http://, https://, socks5://, socks5h://) with a host")
        }
        return url
    }

    /// Two listeners on one address would fail at bind time; say so now, naming the key.
    private func checkListenersAreDistinct() throws(ConfigError) {
        var seen: [ListenAddress: String] = [:]
        var all = routes.enumerated().map { ("routes[\($0.offset)].listen", $0.element.listen) }
        if let admin { all.append(("admin.listen", admin.listen)) }
        for (path, address) in all {
            if case .tcp(_, 0) = address { continue }
            if let other = seen[address] { throw ConfigError(path, "\(address) is already used by \(other)") }
            seen[address] = path
        }
    }
}
