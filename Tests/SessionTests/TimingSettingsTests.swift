import Foundation
import ConfParser
import ICE
import Session
import Testing

/// `check` and `up` on one validation: a CheckInterval or FailedTimeout that `check` accepts reaches the
/// agent's configuration unchanged, and one that `check` refuses `ICEConfiguration` refuses too.
@Suite struct TimingSettingsTests {
    @Test func boundsAreTheSame() throws {
        let defaults = try ICEConfiguration()
        #expect(ICETiming.checkInterval == ICEConfiguration.checkIntervalRange)
        #expect(ICETiming.failedTimeout == ICEConfiguration.failedTimeoutRange)
        #expect(ICETiming.defaultCheckInterval == defaults.checkInterval)
        #expect(ICETiming.defaultFailedTimeout == defaults.failedTimeout)
    }

    static let checkIntervals = ["1ms", "4ms", "5ms", "6ms", "20ms", "999ms", "1s", "1s1ms", "2s", "1h"]
    static let failedTimeouts = ["1s", "25s", "39s", "39s499ms", "39s500ms", "40s", "9m59s", "10m", "10m1ms", "1h"]

    @Test(arguments: checkIntervals)
    func checkInterval(_ text: String) throws {
        let accepted = try agree("CheckInterval", text) { try ICEConfiguration(checkInterval: $0) }
        if let (settings, value) = accepted { #expect(settings.ice.checkInterval == value) }
    }

    @Test(arguments: failedTimeouts)
    func failedTimeout(_ text: String) throws {
        let accepted = try agree("FailedTimeout", text) { try ICEConfiguration(failedTimeout: $0) }
        if let (settings, value) = accepted { #expect(settings.ice.failedTimeout == value) }
    }

    /// Every file of the parser's valid corpus and every example that `check` passes, `up` takes.
    @Test func everyFileCheckAcceptsUpTakes() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let directories = ["Tests/ConfParserTests/Corpus/valid", "examples"].map { root.appendingPathComponent($0) }
        var checked = 0
        for directory in directories {
            for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasSuffix(".conf") {
                let result = try ConfParser.parse(contentsOf: directory.appendingPathComponent(file).path)
                guard result.isValid, !result.configuration.ice.signaling.isEmpty else { continue }
                #expect(throws: Never.self, "\(file)") { try SessionSettings(result.configuration, interface: "wg0") }
                checked += 1
            }
        }
        #expect(checked >= 6)
    }

    @Test func defaultsReachTheAgentConfiguration() throws {
        let settings = try SessionSettings(parse("").configuration, interface: "wg0")
        #expect(settings.ice.checkInterval == .milliseconds(20))
        #expect(settings.ice.failedTimeout == .milliseconds(39_500))
    }

    /// Parses `key = text` the way `check` does and builds the configuration the way `up` does; both must
    /// accept or both refuse. Returns what `up` made of an accepted value.
    private func agree(_ key: String, _ text: String,
                       _ make: (Duration) throws -> ICEConfiguration) throws -> (SessionSettings, Duration)? {
        let result = parse("\(key) = \(text)\n")
        let value = try #require(parseDuration(text))
        let iceAccepts = (try? make(value)) != nil
        #expect(result.isValid == iceAccepts, "\(key) = \(text): check \(result.isValid), ICEConfiguration \(iceAccepts)")
        if !result.isValid {
            #expect(result.errors.map(\.description).allSatisfy { $0.hasPrefix("t.conf:5: \(key) `\(text)'") })
            return nil
        }
        return (try SessionSettings(result.configuration, interface: "wg0"), value)
    }

    private func parse(_ lines: String) -> ParseResult {
        ConfParser.parse(Array("[Interface]\nListenPort = 51820\n[ICE]\nSignaling = ws://127.0.0.1:1\n\(lines)".utf8),
                         path: "t.conf")
    }
}
