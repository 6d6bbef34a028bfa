import Glibc

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
    static let rekeyAfterTime: UInt64 = 120 * Clock.second / timeDivisor
    static let rejectAfterTime: UInt64 = 180 * Clock.second / timeDivisor
    static let rekeyAttemptTime: UInt64 = 90 * Clock.second / timeDivisor
    static let rekeyTimeout: UInt64 = 5 * Clock.second / timeDivisor
    static let keepaliveTimeout: UInt64 = 10 * Clock.second / timeDivisor
    static let cookieRefreshTime: UInt64 = 120 * Clock.second
    /// How often one peer may make us run the expensive part of a handshake (wireguard-go's HandshakeInitationRate).
    static let initiationRate: UInt64 = Clock.second / 50
    static let maxTimerHandshakes = 18 // rekeyAttemptTime / rekeyTimeout
    static let rekeyJitterMaxMilliseconds: UInt64 = max(334 / timeDivisor, 1)

    /// Divides the section 6 timer constants above so that a test sees several rekeys and a REJECT_AFTER_TIME
    /// within seconds (tests/wireguard-interop.sh, tests/kernel.sh). Only a debug build reads
    /// WG_ICE_WIREGUARD_TIME_DIVISOR: a release build has no way to shorten the protocol's timers.
    static let timeDivisor: UInt64 = {
        #if DEBUG
        if let value = getenv("WG_ICE_WIREGUARD_TIME_DIVISOR"), let divisor = UInt64(String(cString: value)), divisor > 0 {
            return divisor
        }
        #endif
        return 1
    }()
    static let paddingMultiple = 16
}
