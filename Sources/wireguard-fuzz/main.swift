import CFuzzerDriver
import Foundation
import WireGuardDaemon

/// wireguard-fuzz packets|uapi [libFuzzer flags and corpus directories] when built by scripts/fuzz-wireguard
/// (-sanitize=fuzzer -DFUZZING). A plain `swift build` gets the replayer instead: `wireguard-fuzz packets FILE...`
/// runs saved inputs (a crash file) through the same target, and `wireguard-fuzz seeds packets|uapi DIR` writes
/// the seed corpus.
let targets: [String: (UnsafeRawBufferPointer) -> Void] = ["packets": PacketFuzzing.run, "uapi": UAPIFuzzing.run]
let seeds: [String: () -> [[UInt8]]] = ["packets": PacketFuzzing.seeds, "uapi": UAPIFuzzing.seeds]
let usage = "usage: wireguard-fuzz packets|uapi [FILE...] | wireguard-fuzz seeds packets|uapi DIR"

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

var arguments = CommandLine.arguments
if arguments.count == 4, arguments[1] == "seeds", let make = seeds[arguments[2]] {
    for (i, seed) in make().enumerated() {
        let path = "\(arguments[3])/seed-\(arguments[2])-\(i)"
        guard FileManager.default.createFile(atPath: path, contents: Data(seed)) else { fail("\(path): cannot write") }
    }
    exit(0)
}
guard arguments.count >= 2, let target = targets[arguments[1]] else { fail(usage) }
nonisolated(unsafe) var selected = target

#if FUZZING
// libFuzzer sees the program name and its own flags: the target's name is ours.
var argv = CommandLine.unsafeArgv
argv[1] = argv[0]
var argc = CommandLine.argc - 1
var shifted: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv + 1
exit(LLVMFuzzerRunDriver(&argc, &shifted) { data, size in
    selected(UnsafeRawBufferPointer(start: data, count: size))
    return 0
})
#else
for path in arguments.dropFirst(2) {
    guard let data = FileManager.default.contents(atPath: path) else { fail("\(path): cannot read") }
    [UInt8](data).withUnsafeBytes { target($0) }
    print("\(path): ok")
}
#endif
