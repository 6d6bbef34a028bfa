// wireguard-driver: drives the WireGuard module from scripts (bench/uapi.sh, tests/kernel.sh).
// Not a product: a test-support executable.
//
//   wireguard-driver genconf PEERS IPS_PER_PEER     print a wg(8) config with random keys
//   wireguard-driver setconf IFACE FILE             like `wg setconf`, through WireGuard.open
//   wireguard-driver showconf IFACE                 like `wg showconf`
//   wireguard-driver time IFACE FILE RUNS           in-process median of apply and of device(), in ms
//   wireguard-driver kernel-check                   checks against kernel WireGuard (run inside kvm-run)
import Foundation
import WireGuard

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("wireguard-driver: \(message)\n".utf8))
    exit(1)
}

let args = CommandLine.arguments
switch args.dropFirst().first {
case "genconf" where args.count == 4:
    guard let peers = Int(args[2]), let ips = Int(args[3]), ips <= 250 else { fail("genconf PEERS IPS_PER_PEER(<=250)") }
    print(generateConfig(peers: peers, ipsPerPeer: ips).showconf, terminator: "")
case "setconf" where args.count == 4:
    do {
        let text = try String(contentsOfFile: args[3], encoding: .utf8)
        let device = try parseConfig(text, name: args[2])
        try WireGuard.open(args[2]).apply(.replacing(with: device))
    } catch { fail("\(error)") }
case "showconf" where args.count == 3:
    do { print(try WireGuard.open(args[2]).device().showconf, terminator: "") } catch { fail("\(error)") }
case "time" where args.count == 5:
    do {
        guard let runs = Int(args[4]), runs > 0 else { fail("time IFACE FILE RUNS") }
        let device = try parseConfig(try String(contentsOfFile: args[3], encoding: .utf8), name: args[2])
        let control = try WireGuard.open(args[2])
        let clock = ContinuousClock()
        var applies = [Duration](), reads = [Duration]()
        for _ in 0..<runs {
            applies.append(try clock.measure { try control.apply(.replacing(with: device)) })
            reads.append(try clock.measure { _ = try control.device() })
        }
        func ms(_ d: [Duration]) -> String {
            let sorted = d.sorted()
            let mid = sorted[sorted.count / 2]
            return String(format: "%.2f", Double(mid.components.seconds) * 1000 + Double(mid.components.attoseconds) / 1e15)
        }
        print("apply_ms=\(ms(applies)) read_ms=\(ms(reads))")
    } catch { fail("\(error)") }
case "kernel-check" where args.count == 2:
    exit(KernelCheck().run() ? 0 : 1)
default:
    fail("usage: genconf PEERS IPS | setconf IFACE FILE | showconf IFACE | time IFACE FILE RUNS | kernel-check")
}
