/// A 32-byte WireGuard key: a public key, a preshared key, or the secret inside a `PrivateKey`. The one key
/// type of every module. Text forms: base64 as wg(8) and config files write it, lowercase hex as UAPI does.
/// Printing shows base64, so a secret is only ever held as a `PrivateKey`, whose description hides it.
public struct Key: Hashable, Sendable, CustomStringConvertible {
    public static let length = 32
    public let bytes: [UInt8]

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.length else { return nil }
        self.bytes = Array(bytes)
    }

    /// Accepts exactly what wg's key_from_base64 accepts: 43 base64 characters then `=`, with the two unused
    /// low bits of the last character zero, so that every key has one spelling.
    public init?(base64 text: some StringProtocol) {
        let chars = Array(text.utf8)
        guard chars.count == 44, chars[43] == UInt8(ascii: "=") else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(Self.length)
        var accumulator: UInt32 = 0, bits = 0
        for (i, c) in chars[..<43].enumerated() {
            guard let value = Self.sextet(c), i < 42 || value & 0b11 == 0 else { return nil }
            accumulator = (accumulator << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        self.bytes = out
    }

    public init?(hex text: some StringProtocol) { self.init(hexDigits: text.utf8) }

    /// `init(hex:)` for text still in bytes (a UAPI response).
    public init?(hexDigits: some Collection<UInt8>) {
        let digits = Array(hexDigits)
        guard digits.count == 2 * Self.length else { return nil }
        var bytes = [UInt8](repeating: 0, count: Self.length)
        for i in 0..<Self.length {
            guard let high = Self.nibble(digits[2 * i]), let low = Self.nibble(digits[2 * i + 1]) else { return nil }
            bytes[i] = high << 4 | low
        }
        self.bytes = bytes
    }

    public var base64: String {
        var out = ""
        var accumulator: UInt32 = 0, bits = 0
        for byte in bytes {
            accumulator = (accumulator << 8) | UInt32(byte)
            bits += 8
            while bits >= 6 {
                bits -= 6
                out.append(Self.alphabet[Int((accumulator >> UInt32(bits)) & 0x3f)])
            }
        }
        out.append(Self.alphabet[Int((accumulator << UInt32(6 - bits)) & 0x3f)])
        return out + "="
    }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xf)]] }, as: UTF8.self)
    }

    /// The all-zero key, which WireGuard uses to mean "no key".
    public var isZero: Bool { bytes.allSatisfy { $0 == 0 } }

    public var description: String { base64 }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

    private static func sextet(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
