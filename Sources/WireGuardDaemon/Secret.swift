import CSodium
import Synchronization

/// Key material in a buffer of its own, zeroed with `sodium_memzero` (which the optimiser may not drop) when the
/// last reference goes. A class, not a `[UInt8]`: copying a struct that holds one copies the reference, never the
/// bytes, so the one buffer is the only place the secret lives (apart from what libsodium and the compiler leave in
/// registers and on the stack while working on it). Never mutated once made: a new value is a new `Secret`, and
/// the old one is wiped as it is dropped, so sharing one between a fixture and the devices made from it is safe.
/// Sendable for the same reason: the bytes are written only while the secret is being made, before anyone else
/// holds it (the fuzz fixtures are shared across threads).
final class Secret: Equatable, @unchecked Sendable {
    let count: Int
    /// For the libsodium calls, which read and write through pointers.
    let bytes: UnsafeMutablePointer<UInt8>

    /// Tests set this to read a secret's memory after it was dropped: the buffer is still wiped, but not freed (so
    /// malloc cannot hand it to anyone else before the test has looked). Never set by the daemon.
    static let keepsWipedMemory = Atomic<Bool>(false)

    /// `count` zero bytes, to be written through `bytes` by whoever derives the secret.
    init(count: Int = 32) {
        self.count = count
        bytes = .allocate(capacity: count)
        bytes.initialize(repeating: 0, count: count)
    }

    convenience init(copying source: UnsafeRawBufferPointer) {
        self.init(count: source.count)
        if let base = source.baseAddress { UnsafeMutableRawPointer(bytes).copyMemory(from: base, byteCount: source.count) }
    }

    /// From bytes that are not themselves secret, or whose copy the caller cannot wipe anyway (tests, fixtures).
    convenience init(_ array: [UInt8]) {
        self.init(count: array.count)
        array.withUnsafeBytes { if let base = $0.baseAddress { UnsafeMutableRawPointer(bytes).copyMemory(from: base, byteCount: $0.count) } }
    }

    /// From UAPI's 64 hex digits, without a `[UInt8]` copy on the way.
    convenience init?(hex text: some StringProtocol) {
        guard text.utf8.count == 64 else { return nil }
        self.init(count: 32)
        var i = 0, high: UInt8 = 0
        for c in text.utf8 {
            let nibble: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            if i % 2 == 0 { high = nibble << 4 } else { bytes[i / 2] = high | nibble }
            i += 1
        }
    }

    deinit {
        wipe()
        if !Self.keepsWipedMemory.load(ordering: .relaxed) { bytes.deallocate() }
    }

    func wipe() { sodium_memzero(bytes, count) }

    var raw: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: bytes, count: count) }

    /// Constant time, as a key comparison must be.
    var isZero: Bool { sodium_is_zero(bytes, count) == 1 }

    /// A copy that is not wiped: for the places that must hand the key on as text (UAPI `get`) and for tests.
    var array: [UInt8] { Array(raw) }

    static func == (a: Secret, b: Secret) -> Bool {
        a.count == b.count && sodium_memcmp(a.bytes, b.bytes, a.count) == 0
    }
}
