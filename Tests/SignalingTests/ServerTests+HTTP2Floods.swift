import Foundation
import Testing
import TestSupport

extension ServerTests {
    /// 200,000 HTTP/2 frames that open no call, on one gRPC connection, of each kind: PING and SETTINGS were
    /// already cut by swift-nio-http2 (200 in 30 s), WINDOW_UPDATE and frames of unknown type were not (the
    /// connection stayed, ~0.9 s of server CPU per 200,000, for as long as the client liked). Each flood now
    /// ends in GOAWAY ENHANCE_YOUR_CALM and a closed connection, cheaply, and sessions on the server carry on.
    @Test func http2FloodsOnTheGRPCListenerAreCutAndOtherSessionsCarryOn() async throws {
        let server = try ServerProcess(listen: ["ws://127.0.0.1:0", "grpc://127.0.0.1:0"], extra: ["--idle-timeout", "60"])
        let grpc = server.url("grpc")
        let a = try TestPeer(url: server.url("ws")), b = try TestPeer(url: grpc)
        try await a.waitConnected()
        try await b.waitConnected()
        let grpcPort = Int(grpc.split(separator: ":").last!)!
        for (i, flood) in RawHTTP2.Flood.allCases.enumerated() {
            let connection = try RawHTTP2(port: grpcPort)
            let before = try cpuSeconds(server.process.processIdentifier)
            let sent = connection.flood(flood.frame, count: 200_000)
            let seen = connection.waitClosed(timeout: 5)
            let spent = try cpuSeconds(server.process.processIdentifier) - before
            #expect(seen.closed, "\(flood): connection still open after \(sent) frames")
            #expect(seen.goAway?.code == 0xb, "\(flood): \(seen)")  // ENHANCE_YOUR_CALM
            // Answered frames: the acknowledgements of at most the budget (and of the client's first SETTINGS).
            #expect(seen.pingAcks + seen.settingsAcks <= 1001, "\(flood): \(seen)")
            #expect(spent < 0.3, "\(flood): server used \(spent) s of CPU")
            try await b.channel.send(.candidate("after the \(flood) flood"), to: a.publicKey)
            try await a.waitReceived(i + 1, timeout: 10)
        }
        #expect(server.log.contains("HTTP/2 frames"))
        await a.close()
        await b.close()
    }
}
