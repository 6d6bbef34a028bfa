import Signaling
import WireGuard

// Both modules hold a key as its 32 raw bytes, so these conversions cannot fail.
extension Key {
    var signalingKey: PublicKey { try! PublicKey(bytes: bytes) }
}

extension PublicKey {
    var wireGuardKey: Key { Key(bytes: bytes)! }
}
