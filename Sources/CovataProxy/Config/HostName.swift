import ProxySupport

/// Host-name facts the config checks need.
enum HostName {
    /// True for `localhost`, 127.0.0.0/8 and ::1 (checked on every request's Host, so without copies).
    static func isLoopback<Name: StringProtocol>(_ host: Name) -> Bool {
        if host.equalsIgnoringASCIICase("localhost") || host == "::1" || host == "[::1]" { return true }
        // Four dot-separated decimal octets, the first 127.
        var octets = 0
        var value = 0
        var digits = 0
        var first = 0
        for byte in host.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0 else { return false }
                if octets == 0 { first = value }
                octets += 1
                value = 0
                digits = 0
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 3 {
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                guard value <= 255 else { return false }
            } else {
                return false
            }
        }
        return octets == 3 && digits > 0 && first == 127
    }
}
