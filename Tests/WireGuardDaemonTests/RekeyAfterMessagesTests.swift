import Testing
@testable import WireGuardDaemon

/// Which side rekeys when.
@Suite struct RekeyAfterMessagesTests {
    /// REKEY_AFTER_MESSAGES holds for the responder too; REKEY_AFTER_TIME only for the initiator.
    @Test func responderRekeysAfterMessages() {
        let keys = Noise.SessionKeys(send: Secret([UInt8](repeating: 1, count: 32)),
                                     receive: Secret([UInt8](repeating: 2, count: 32)))
        var responder = Keypair(keys: keys, localIndex: 1, remoteIndex: 2, isInitiator: false, now: 0)
        #expect(!responder.needsRekeyAfterSending(now: 1))
        responder.sendCounter = Protocol.rekeyAfterMessages + 1
        #expect(responder.needsRekeyAfterSending(now: 1))
        let fresh = Keypair(keys: keys, localIndex: 1, remoteIndex: 2, isInitiator: false, now: 0)
        #expect(!fresh.needsRekeyAfterSending(now: Protocol.rekeyAfterTime + 1))
    }
}
