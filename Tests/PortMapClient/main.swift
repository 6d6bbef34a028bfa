import Addresses
import Foundation
import Logging
import PortMapping

// A PortMapper for one UDP port, run by PortMappingTests inside a client namespace (`ip netns exec`), so that
// its socket, its /proc route lookup and libminiupnpc's sockets are the namespace's.
//   portmap-client --port P --local IP [--methods pcp,nat-pmp,upnp] [--probe S] [--retry S]
// Prints `mapping METHOD EXTERNAL LIFETIME` or `mapping none` on every change, `recv TEXT` for each datagram that
// reaches the port, `log MESSAGE` for what the mapper logs; reads `release` and `stop` (answered with
// `released MS` and `stopped MS`, the milliseconds they took).

/// One line on stdout, unbuffered: the test reads it as it comes.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let key = arguments.popFirst(), let value = arguments.popFirst() { options[key] = value }
guard let port = options["--port"].flatMap(UInt16.init), let local = options["--local"].flatMap(IPAddress.init) else {
    FileHandle.standardError.write(Data("usage: portmap-client --port P --local IP [--methods ...]\n".utf8))
    exit(2)
}
let methods = Set((options["--methods"] ?? "pcp,nat-pmp,upnp").split(separator: ",").compactMap { PortMappingMethod(rawValue: String($0)) })
var tuning = PortMapperTuning.standard
if let probe = options["--probe"].flatMap(Double.init) { tuning.probeInterval = .milliseconds(Int(probe * 1000)) }
if let retry = options["--retry"].flatMap(Double.init) { tuning.retryInitial = .milliseconds(Int(retry * 1000)) }

struct LineHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        say("log \(event.message) \(fields)")
    }
}

// The mapped port itself: what a WAN host sends to the external address must arrive here.
let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
var one: Int32 = 1
setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
let bound = SocketAddress(address: IPAddress("0.0.0.0")!, port: port).withSockaddr { bind(fd, $0, $1) }
guard bound == 0 else { say("error bind \(errno)"); exit(1) }
Thread.detachNewThread {
    var buffer = [UInt8](repeating: 0, count: 2048)
    while true {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n < 0 { return }
        say("recv \(String(decoding: buffer[0..<n], as: UTF8.self))")
    }
}

let mapper = PortMapper(methods: methods, logger: Logger(label: "portmap") { _ in LineHandler() }, tuning: tuning)
let stream = await mapper.keep(udpPort: port, local: local)
// Detached: top-level code is the main actor's, and the main thread blocks in readLine.
let watcher = Task.detached {
    for await mapping in stream {
        if let mapping {
            say("mapping \(mapping.method.rawValue) \(mapping.external) \(mapping.lifetime.components.seconds)")
        } else {
            say("mapping none")
        }
    }
}
while let line = readLine() {
    let start = ContinuousClock.now
    let milliseconds = { () -> Int64 in
        let d = ContinuousClock.now - start
        return d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }
    switch line {
    case "release":
        await mapper.release(udpPort: port)
        say("released \(milliseconds())")
    case "stop":
        await mapper.stop()
        say("stopped \(milliseconds())")
        exit(0)
    default:
        say("error unknown command \(line)")
    }
}
await mapper.stop()
