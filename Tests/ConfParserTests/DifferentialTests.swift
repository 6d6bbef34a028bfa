import Keys
import Foundation
import Testing
import TestSupport
@testable import ConfParser

/// ConfParser against Debian's wg and wireguard-go: for every corpus file, `wg setconf` takes the
/// stripped file exactly when ConfParser finds no WireGuard-level error, and `wg showconf` reads
/// back what ConfParser parsed. One interface serves the whole corpus (setconf replaces its state).
@Suite(.serialized, .tags(.integration)) struct DifferentialTests {
    @Test func wgSetconfAgreesWithConfParser() throws {
        let ns = try NetNS(prefix: "cpdiff")
        defer { ns.destroy() }
        let ifname = try ns.addWireGuardGo(prefix: "cpd")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpdiff-\(uniqueSuffix())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        var accepted = 0, rejected = 0
        for file in Corpus.all {
            let result = try ConfParser.parse(contentsOf: file.path)
            let strippedFile = dir.appendingPathComponent(file.lastPathComponent)
            try Data(result.stripped).write(to: strippedFile)
            let setconf = try ns.tryExec(["wg", "setconf", ifname, strippedFile.path])
            let wireGuardErrors = result.errors.filter { $0.origin == .wireGuard }
            #expect(setconf.succeeded == wireGuardErrors.isEmpty,
                    "\(file.lastPathComponent): wg says \(setconf.stderr), ConfParser says \(result.errors)")
            if setconf.succeeded { accepted += 1 } else { rejected += 1 }
            guard result.isValid, setconf.succeeded else { continue }

            let shown = try ns.exec(["wg", "showconf", ifname]).stdout
            let readBack = ConfParser.parse(Array(shown.utf8), path: "showconf")
            #expect(readBack.isValid, "\(readBack.errors)")
            expectSameWireGuardState(parsed: result.configuration, shown: readBack.configuration, file.lastPathComponent)
        }
        // The corpus must exercise both outcomes, or this test proves nothing.
        #expect(accepted > 20 && rejected > 15, "accepted \(accepted), rejected \(rejected)")
    }

    /// Compares what the file sets with what the interface reports. Fields the file leaves out keep
    /// whatever the previous corpus file set, so only fields present are compared.
    private func expectSameWireGuardState(parsed: Configuration, shown: Configuration, _ name: String) {
        let zero = Key(bytes: [UInt8](repeating: 0, count: 32))
        if let key = parsed.interface.privateKey {
            #expect(shown.interface.privateKey == (key.secret == zero ? nil : key), "\(name): PrivateKey")
        }
        if let port = parsed.interface.listenPort, port != 0 {
            #expect(shown.interface.listenPort == port, "\(name): ListenPort")
        }
        if let mark = parsed.interface.fwMark {
            #expect((shown.interface.fwMark ?? 0) == mark, "\(name): FwMark")
        }
        #expect(Set(shown.peers.map(\.publicKey)) == Set(parsed.peers.map(\.publicKey)), "\(name): peers")
        for peer in parsed.peers {
            guard let other = shown.peers.first(where: { $0.publicKey == peer.publicKey }) else { continue }
            #expect(other.presharedKey == (peer.presharedKey == zero ? nil : peer.presharedKey), "\(name): PresharedKey")
            #expect(Set(other.allowedIPs) == Set(peer.allowedIPs.map(\.masked)), "\(name): AllowedIPs")
            #expect(other.persistentKeepalive == peer.persistentKeepalive, "\(name): PersistentKeepalive")
            if case .ip? = peer.endpoint?.host {
                #expect(other.endpoint == peer.endpoint, "\(name): Endpoint")
            }
        }
    }
}
