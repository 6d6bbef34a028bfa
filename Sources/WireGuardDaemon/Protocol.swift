/// The constants of the WireGuard protocol (whitepaper section 6 and wireguard-go's constants).
enum Protocol {
    static let construction = Array("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s".utf8)
    static let identifier = Array("WireGuard v1 zx2c4 Jason@zx2c4.com".utf8)
    static let labelMAC1 = Array("mac1----".utf8)
    static let labelCookie = Array("cookie--".utf8)
    static let initialChainKey = Blake2s.hash(construction)
    static let initialHash = Blake2s.hash(initialChainKey, identifier)

    static let rekeyAfterMessages: UInt64 = 1 << 60
    static let rejectAfterMessages: UInt64 = UInt64.max - (1 << 13)
    static let rekeyAfterTime: UInt64 = 120 * Clock.second
    static let rejectAfterTime: UInt64 = 180 * Clock.second
    static let rekeyAttemptTime: UInt64 = 90 * Clock.second
    static let rekeyTimeout: UInt64 = 5 * Clock.second
    static let keepaliveTimeout: UInt64 = 10 * Clock.second
    static let cookieRefreshTime: UInt64 = 120 * Clock.second
    /// How often one peer may make us run the expensive part of a handshake (wireguard-go's HandshakeInitationRate).
    static let initiationRate: UInt64 = Clock.second / 50
    static let maxTimerHandshakes = 18 // rekeyAttemptTime / rekeyTimeout
    static let rekeyJitterMaxMilliseconds: UInt64 = 334
    static let paddingMultiple = 16
}
