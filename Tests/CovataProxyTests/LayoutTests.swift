import Foundation
import Testing

/// The source layout keeps its promises: folders of the product depend on each other one way only, only the libcurl
/// wrapper touches C, and raw pointers elsewhere say why they are there.
@Suite struct LayoutTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    /// The folders of `Sources/CovataProxy`, lowest first: each may use the ones before it, never one after it
    /// (ARCHITECTURE.md shows the same order). What sits below all of them are modules of their own
    /// (ProxyConfiguration, ProxyObservability), where the compiler keeps the boundary.
    static let layers = ["HTTP1", "Token", "Login", "Forwarding", "Admin", "Runtime"]

    static func swiftFiles(under folder: URL) throws -> [URL] {
        let paths =
            FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL } ?? []
        return paths.filter { $0.pathExtension == "swift" }.sorted { $0.path < $1.path }
    }

    /// Source text without comments and string literals, so names in prose or messages do not count as uses.
    static func code(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var line = String(line)
            if let comment = line.range(of: "//") { line = String(line[..<comment.lowerBound]) }
            return line.replacingOccurrences(of: #""(?:[^"\\]|\\.)*""#, with: "\"\"", options: .regularExpression)
        }.joined(separator: "\n")
    }

    @Test func foldersDependOneWayOnly() throws {
        let product = Self.sources.appendingPathComponent("CovataProxy")
        let folders = try FileManager.default.contentsOfDirectory(atPath: product.path).sorted()
        #expect(folders == Self.layers.sorted(), "a folder was added or renamed: place it in `layers`")
        // Each top-level type, and the layer that declares it.
        var declaredIn: [String: Int] = [:]
        var files: [(layer: Int, name: String, code: String)] = []
        for (layer, folder) in Self.layers.enumerated() {
            for file in try Self.swiftFiles(under: product.appendingPathComponent(folder)) {
                let code = Self.code(try String(contentsOf: file, encoding: .utf8))
                files.append((layer, "\(folder)/\(file.lastPathComponent)", code))
                let declaration = try Regex(
                    #"(?m)^(?:public |package |private |fileprivate |final |indirect )*"#
                        + #"(?:struct|class|enum|actor|protocol) (\w+)"#
                )
                for match in code.matches(of: declaration) {
                    if let name = match.output[1].substring { declaredIn[String(name)] = layer }
                }
            }
        }
        #expect(declaredIn.count > 50)
        var upward: [String] = []
        for file in files {
            for (name, layer) in declaredIn where layer > file.layer {
                if file.code.contains(try Regex("\\b\(name)\\b")) {
                    upward.append("\(file.name) uses \(name) (\(Self.layers[layer]))")
                }
            }
        }
        #expect(upward.isEmpty, "dependencies pointing up: \(upward.sorted())")
    }

    @Test func onlyTheCurlWrapperImportsC() throws {
        for file in try Self.swiftFiles(under: Self.sources) where !file.path.contains("/Sources/CurlClient/") {
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(!text.contains("import CCurl"), "\(file.lastPathComponent) imports CCurl")
            #expect(!text.contains("import TestSupport"), "\(file.lastPathComponent) imports test-only code")
        }
    }

    /// Outside the libcurl wrapper, a raw pointer is there because NIO or a system call hands or takes one; a
    /// comment within the three lines before it says which.
    @Test func rawPointersOutsideTheWrapperSayWhy() throws {
        for file in try Self.swiftFiles(under: Self.sources) where !file.path.contains("/Sources/CurlClient/") {
            let lines = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n")
            for (index, line) in lines.enumerated() where line.contains("Unsafe") && !line.contains("//") {
                let before = lines[max(0, index - 3)..<index]
                // The first use in a function or closure is enough: the lines after it share its reason.
                let explained = before.contains { $0.contains("//") || $0.contains("Unsafe") }
                #expect(explained, "\(file.lastPathComponent):\(index + 1) uses a raw pointer without a reason")
            }
        }
    }
}
