import Keys
import CFuzzerDriver
import ConfParser
import Foundation

/// The fuzz target: parse arbitrary bytes and check what must hold for every input — the parser
/// returns, and a file it accepts still parses after `strip`, to the same WireGuard settings and
/// without wg-ice or wg-quick settings.
func fuzzConfParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let result = ConfParser.parse(Array(UnsafeBufferPointer(start: data, count: size)), path: "fuzz")
    guard result.isValid else { return 0 }
    let original = result.configuration
    let stripped = ConfParser.parse(result.stripped, path: "stripped")
    let again = stripped.configuration
    guard stripped.isValid, !again.hasICESettings,
          again.interface.privateKey == original.interface.privateKey,
          again.interface.listenPort == original.interface.listenPort,
          again.interface.fwMark == original.interface.fwMark,
          again.interface.addresses.isEmpty, again.interface.postUp.isEmpty,
          again.peers.map(WireGuardPeer.init) == original.peers.map(WireGuardPeer.init) else {
        fatalError("strip changed the meaning of a valid file: \(stripped.errors)")
    }
    return 0
}

/// What `wg setconf` applies for a peer (the header's line number moves when strip drops lines).
struct WireGuardPeer: Equatable {
    var publicKey: Key
    var presharedKey: Key?
    var allowedIPs: [IPNetwork]
    var endpoint: Endpoint?
    var persistentKeepalive: UInt16

    init(_ peer: PeerSection) {
        publicKey = peer.publicKey
        presharedKey = peer.presharedKey
        allowedIPs = peer.allowedIPs
        endpoint = peer.endpoint
        persistentKeepalive = peer.persistentKeepalive
    }
}

/// Built by scripts/fuzz-confparser (-sanitize=fuzzer -DFUZZING) this hands control to libFuzzer.
/// A plain `swift build` gets an input replayer instead: `confparser-fuzz FILE...` runs the same
/// checks on saved inputs, e.g. a crash file, without libFuzzer.
@main
struct ConfParserFuzz {
    static func main() {
        #if FUZZING
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzzConfParser($0, $1) })
        #else
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("\(path): cannot read")
                exit(1)
            }
            _ = [UInt8](data).withUnsafeBufferPointer { fuzzConfParser($0.baseAddress, $0.count) }
            print("\(path): ok")
        }
        #endif
    }
}
