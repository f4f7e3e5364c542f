import Foundation
import Testing

@testable import CovataProxy

/// The JSON Schema shipped for editors must describe exactly the keys the loader accepts.
@Suite struct ConfigSchemaTests {
    static var schema: [String: Any] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docker/proxy.schema.json")
        return (try? JSONSerialization.jsonObject(with: Data(contentsOf: url))) as? [String: Any] ?? [:]
    }

    /// Where each object sits in the schema and in a config, and how to put an unknown key into it.
    struct Section: Sendable, CustomTestStringConvertible {
        let name: String
        let schemaPath: [String]
        let inject: @Sendable (inout [String: Any]) -> Void
        var testDescription: String { name }
    }

    static let sections: [Section] = [
        Section(name: "root", schemaPath: []) { $0["zzz"] = 1 },
        Section(name: "routes[]", schemaPath: ["routes", "items"]) { object in
            var routes = object["routes"] as! [[String: Any]]
            routes[0]["zzz"] = 1
            object["routes"] = routes
        },
        Section(name: "oauth", schemaPath: ["oauth"]) { object in
            var oauth = object["oauth"] as! [String: Any]
            oauth["zzz"] = 1
            object["oauth"] = oauth
        },
        Section(name: "admin", schemaPath: ["admin"]) { $0["admin"] = ["listen": "127.0.0.1:9901", "zzz": 1] },
        Section(name: "tls", schemaPath: ["tls"]) { $0["tls"] = ["zzz": 1] },
        Section(name: "log", schemaPath: ["log"]) { $0["log"] = ["zzz": 1] },
        Section(name: "timeouts", schemaPath: ["timeouts"]) { $0["timeouts"] = ["zzz": 1] },
        Section(name: "limits", schemaPath: ["limits"]) { $0["limits"] = ["zzz": 1] },
    ]

    static func schemaKeys(_ path: [String]) -> Set<String> {
        var node = schema
        for key in path {
            if key == "items" {
                node = node["items"] as? [String: Any] ?? [:]
            } else {
                node = (node["properties"] as? [String: Any])?[key] as? [String: Any] ?? [:]
            }
        }
        return Set((node["properties"] as? [String: Any] ?? [:]).keys)
    }

    @Test(arguments: sections)
    func schemaAndLoaderAgree(_ section: Section) throws {
        var object = ConfigTests.base()
        section.inject(&object)
        do {
            _ = try ConfigTests.parse(object)
            Issue.record("unknown key was accepted")
        } catch {
            let listed = try #require(error.message.components(separatedBy: "expected one of: ").last?.dropLast())
            let loaderKeys = Set(listed.components(separatedBy: ", "))
            #expect(loaderKeys == Self.schemaKeys(section.schemaPath))
        }
    }
}
