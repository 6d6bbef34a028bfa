import TestSupport

/// Sends text both ways and waits for it to arrive.
func exchangeData(_ a: PeerProcess, _ b: PeerProcess) async throws {
    _ = try await a.waitFor("pair ", seconds: 30)
    _ = try await b.waitFor("pair ", seconds: 30)
    a.send("send from-\(a.name)")
    b.send("send from-\(b.name)")
    _ = try await b.waitFor("recv from-\(a.name)", seconds: 5)
    _ = try await a.waitFor("recv from-\(b.name)", seconds: 5)
}
