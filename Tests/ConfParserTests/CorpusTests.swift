import Foundation
import Testing
import TestSupport
@testable import ConfParser

/// The corpus through the library and the real `wg-ice-hook` binary.
@Suite struct CorpusTests {
    @Test func corpusIsThere() {
        #expect(Corpus.valid.count >= 15)
        #expect(Corpus.invalid.count >= 25)
        #expect(Corpus.examples.count >= 4)
    }

    @Test(arguments: Corpus.valid + Corpus.examples)
    func validFileChecks(_ file: URL) throws {
        let result = try ConfParser.parse(contentsOf: file.path)
        #expect(result.errors.isEmpty, "\(result.errors)")
        let check = try run([builtProduct("wg-ice-hook"), "check", file.path])
        #expect(check.status == 0, "\(check.stderr)")
        let strip = try run([builtProduct("wg-ice-hook"), "strip", file.path])
        #expect(strip.status == 0)
        #expect(Array(strip.stdout.utf8) == result.stripped)
    }

    @Test(arguments: Corpus.invalid)
    func invalidFileReportsEveryError(_ file: URL) throws {
        let result = try ConfParser.parse(contentsOf: file.path)
        let lines = Array(Set(result.errors.map(\.line))).sorted()
        #expect(lines == (try Corpus.expectedErrorLines(file)))

        let check = try run([builtProduct("wg-ice-hook"), "check", file.path])
        #expect(check.status == 2)
        let printed = check.stderr.split(separator: "\n").map(String.init)
        for error in result.errors {
            #expect(printed.contains(error.description))
            #expect(error.description.hasPrefix("\(file.path):\(error.line): "))
        }
        let strip = try run([builtProduct("wg-ice-hook"), "strip", file.path])
        #expect(strip.status == 2)
        #expect(strip.stdout.isEmpty)
    }

    @Test func checkJSONRedactsSecrets() throws {
        let file = Corpus.root.appendingPathComponent("valid/commented-ice.conf").path
        let out = try runChecked([builtProduct("wg-ice-hook"), "check", "--json", file]).stdout
        let json = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let interface = try #require(json["interface"] as? [String: Any])
        let ice = try #require(json["ice"] as? [String: Any])
        #expect(interface["privateKey"] as? String == "(redacted)")
        #expect(ice["password"] as? String == "(redacted)")
        #expect(ice["username"] as? String == "site-a")
        #expect(!out.contains("eCN7JVTgLYjAOczF9H7JVcAN9g667rfzLCnpV0rmOG8="))
        #expect(!out.contains("correct-horse"))
        #expect(ice["urls"] as? [String] == ["stun:stun.example.net:3478", "turn:turn.example.net:3478?transport=tcp"])

        let psk = try runChecked([builtProduct("wg-ice-hook"), "check", "--json",
                                  Corpus.root.appendingPathComponent("valid/repeated-allowedips.conf").path]).stdout
        #expect(psk.contains("\"presharedKey\" : \"(redacted)\""))
        #expect(!psk.contains("/S4es7qACA5Lc9W5FT0MvlbOajrt1cLS07O56xMKOP0="))
    }

    @Test func unreadableFileExitsTwo() throws {
        let result = try run([builtProduct("wg-ice-hook"), "check", "/nonexistent/wg0.conf"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("/nonexistent/wg0.conf: No such file or directory"))
    }

    @Test func versionComesFromCLISupport() throws {
        let result = try runChecked([builtProduct("wg-ice-hook"), "--version"])
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
    }

    @Test func saveConfigWarningDoesNotFail() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wgice-\(uniqueSuffix())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("wg0.conf")
        try "[Interface]\nSaveConfig = true\n#[ICE]\n# Signaling = wss://s.example.net\n".write(to: file, atomically: true, encoding: .utf8)
        let result = try run([builtProduct("wg-ice-hook"), "check", file.path])
        #expect(result.status == 0)
        #expect(result.stderr.contains("\(file.path):2: warning: SaveConfig = true with wg-ice settings"))
    }
}
