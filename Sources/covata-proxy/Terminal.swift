import ArgumentParser
import Foundation

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
