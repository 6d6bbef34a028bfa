import Foundation
import Session
import Testing
import TestSupport

struct PrivilegesTests {
    @Test func accountsResolveThroughPasswd() throws {
        let nobody = try Account("nobody")
        #expect(nobody.uid == 65534 && nobody.gid == 65534 && !nobody.isRoot)
        #expect(try Account("root").isRoot)
        #expect(try Account("0").isRoot)
        // A numeric uid without a passwd entry gets the group of the same number.
        let dynamic = try Account("61234")
        #expect(dynamic.uid == 61234 && dynamic.gid == 61234)
        #expect(throws: SessionError.self) { try Account("no-such-account-wg-ice") }
    }

    /// The test process runs many threads: the drop must refuse before changing anything, since capabilities
    /// are per thread and the other threads would keep theirs (or lose them all).
    @Test(.tags(.integration)) func dropRefusesInAMultithreadedProcess() throws {
        #expect(throws: SessionError.self) { try Privileges.drop(to: try Account("nobody")) }
        #expect(getuid() == 0 && geteuid() == 0)
        let status = try processStatus(getpid())
        #expect(status["CapEff"] != "0000000000001000", "\(status)")
        #expect(status["NoNewPrivs"] == "0")
    }

    @Test func unknownUserIsAConfigurationError() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wg-ice-user-\(uniqueSuffix())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("wgusr0.conf").path
        let key = try runChecked(["wg", "genkey"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try "[Interface]\nPrivateKey = \(key)\n#[ICE]\n#Signaling = ws://127.0.0.1:1\n#User = no-such-account-wg-ice\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await offPool { try run([builtProduct("wg-ice-hook"), "wgusr0", "--config", path]) }
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(path): User no-such-account-wg-ice: no such account"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/run/wg-ice/wgusr0.pid"))
    }
}
