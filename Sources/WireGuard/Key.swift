import CSodium
import Foundation

/// A 32-byte WireGuard key (private, public or preshared). Text forms are base64 (wg(8), config files)
/// and lowercase hex (UAPI).
public struct Key: Hashable, Sendable {
    public static let length = 32
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == Key.length else { return nil }
        self.bytes = bytes
    }

    public init?(base64: String) {
        guard base64.utf8.count == 44, let data = Data(base64Encoded: base64) else { return nil }
        self.init(bytes: Array(data))
    }

    public init?(hex: some StringProtocol) { self.init(hex: Array(hex.utf8)) }

    init?(hex utf8: some Collection<UInt8>) {
        let utf8 = Array(utf8)
        guard utf8.count == 2 * Key.length else { return nil }
        var bytes = [UInt8](repeating: 0, count: Key.length)
        for i in 0..<Key.length {
            guard let hi = hexValue(utf8[2 * i]), let lo = hexValue(utf8[2 * i + 1]) else { return nil }
            bytes[i] = hi << 4 | lo
        }
        self.bytes = bytes
    }

    public var base64: String { Data(bytes).base64EncodedString() }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(2 * Key.length)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The all-zero key, which both implementations use to mean "no key".
    public var isZero: Bool { bytes.allSatisfy { $0 == 0 } }

    /// The Curve25519 public key for this private key, as wg(8) `pubkey` computes it.
    public var publicKey: Key {
        var out = [UInt8](repeating: 0, count: Key.length)
        _ = crypto_scalarmult_curve25519_base(&out, bytes)
        return Key(bytes: out)!
    }

    /// A new random private key, clamped like `wg genkey`.
    public static func generatePrivate() -> Key {
        var bytes = [UInt8](repeating: 0, count: Key.length)
        randombytes_buf(&bytes, Key.length)
        bytes[0] &= 248
        bytes[31] = (bytes[31] & 127) | 64
        return Key(bytes: bytes)!
    }
}

/// Prints base64 so public keys read like wg(8). Never print a private or preshared key: `Device` and `Peer`
/// redact theirs.
extension Key: CustomStringConvertible {
    public var description: String { base64 }
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
}
