import Foundation
import ProxySupport

/// A route's optional caller checks: `requireHeader`, `allowMethods`, `allowPaths`, `socketMode`.
extension ProxyConfig {
    static func parseAccess(_ route: ConfigReader) throws(ConfigError) -> RouteAccess {
        var access = RouteAccess()
        if let header = try route.object("requireHeader") {
            try header.rejectUnknownKeys(["name", "value"])
            let name = try header.requiredString("name")
            guard name.utf8.allSatisfy(\.isHTTPTokenByte) else {
                throw ConfigError(header.keyPath("name"), "expected a header name such as X-Covata-Proxy-Key")
            }
            access.requiredHeader = RequiredHeader(name: name.lowercased(), value: try header.secret("value"))
        }
        if let items = try route.array("allowMethods") {
            var methods: Set<String> = []
            for (index, item) in items.enumerated() {
                guard case .string(let method) = item, !method.isEmpty, method.utf8.allSatisfy(\.isHTTPTokenByte) else {
                    throw ConfigError(route.keyPath("allowMethods[\(index)]"), "expected a method such as GET")
                }
                methods.insert(method.uppercased())
            }
            access.methods = methods
        }
        if let items = try route.array("allowPaths") {
            access.pathPrefixes = try items.enumerated().map { (index, item) throws(ConfigError) in
                guard case .string(let prefix) = item, prefix.hasPrefix("/"), !prefix.contains("?") else {
                    throw ConfigError(route.keyPath("allowPaths[\(index)]"), "expected a path prefix such as /api/v1/")
                }
                return prefix
            }
        }
        if let text = try route.string("socketMode") {
            guard (try route.string("listen"))?.hasPrefix("unix:") == true else {
                throw ConfigError(route.keyPath("socketMode"), "only for unix:/path listeners")
            }
            guard let mode = Int(text, radix: 8), (0...0o777).contains(mode), mode & 0o600 == 0o600, mode & 0o007 == 0
            else {
                throw ConfigError(
                    route.keyPath("socketMode"),
                    "expected an octal mode such as \"0600\" or \"0660\" (owner read-write, nothing for others)")
            }
            access.socketMode = mode
        }
        return access
    }
}
