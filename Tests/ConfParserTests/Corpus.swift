import Foundation
import TestSupport

/// The files under Tests/ConfParserTests/Corpus: `valid/*.conf` must parse without errors;
/// each `invalid/NAME.conf` has `invalid/NAME.errors` listing the lines that must have errors.
enum Corpus {
    static let root = packageRoot.appendingPathComponent("Tests/ConfParserTests/Corpus")

    static func files(_ kind: String) -> [URL] {
        let dir = root.appendingPathComponent(kind)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".conf") }.sorted().map { dir.appendingPathComponent($0) }
    }

    static var valid: [URL] { files("valid") }
    static var invalid: [URL] { files("invalid") }
    static var all: [URL] { valid + invalid + examples }

    /// examples/*.conf, all valid.
    static var examples: [URL] {
        let dir = packageRoot.appendingPathComponent("examples")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".conf") }.sorted().map { dir.appendingPathComponent($0) }
    }

    static func expectedErrorLines(_ file: URL) throws -> [Int] {
        let text = try String(contentsOf: file.deletingPathExtension().appendingPathExtension("errors"), encoding: .utf8)
        return text.split(separator: "\n").compactMap { Int($0) }
    }
}
