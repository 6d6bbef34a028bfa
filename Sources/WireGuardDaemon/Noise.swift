/// The Noise_IKpsk2 handshake (whitepaper section 5.4.2-5.4.3) as pure functions over message bytes.
/// MACs are not handled here (see MACs.swift): these functions read and write the Noise fields only.
/// Every secret step (ephemeral keys, DH results, chaining keys, the hash, the KDF outputs) is a `Secret`: each
/// MixKey or MixHash makes a new one and the one it replaces is wiped as it is dropped, so once a handshake state
/// or a message's temporaries are let go, nothing of them is left in memory we own.
enum Noise {
    /// What the initiator keeps between its initiation and the response.
    struct InitiatorState {
        var localIndex: UInt32
        var ephemeralPrivate: Secret
        var chainKey: Secret
        var hash: Secret
    }

    /// A decrypted, not yet authorised initiation.
    struct ConsumedInitiation {
        var remoteStatic: [UInt8]
        var remoteIndex: UInt32
        var remoteEphemeral: [UInt8]
        var timestamp: [UInt8]
        var chainKey: Secret
        var hash: Secret
    }

    struct SessionKeys: Equatable {
        var send: Secret
        var receive: Secret
    }

    static func createInitiation(local: LocalIdentity, remote: RemoteIdentity, localIndex: UInt32,
                                 timestamp: [UInt8], ephemeral: Secret = X25519.generateSecret())
        -> (message: [UInt8], state: InitiatorState)? {
        var m = [UInt8].message(.initiation, size: Layout.Initiation.size)
        var c = Secret(Protocol.initialChainKey)
        var h = remote.publicKey.withUnsafeBytes { Blake2s.hash(Secret(Protocol.initialHash), $0) }
        let ePub = X25519.publicKey(ephemeral)
        c = KDF.derive(1, key: c, input: ePub)[0]
        h = mixHash(h, ePub)
        guard let es = X25519.sharedSecret(ephemeral, remote.publicKey), let ss = remote.staticShared else { return nil }
        var kdf = KDF.derive(2, key: c, input: es)
        c = kdf[0]
        let encStatic = AEAD.seal(key: kdf[1], counter: 0, local.publicKey, ad: h)
        h = mixHash(h, encStatic)
        kdf = KDF.derive(2, key: c, input: ss)
        c = kdf[0]
        let encTimestamp = AEAD.seal(key: kdf[1], counter: 0, timestamp, ad: h)
        h = mixHash(h, encTimestamp)
        m.withUnsafeMutableBytes {
            $0.storeLE32(localIndex, at: Layout.Initiation.sender)
            $0.store(ePub, at: Layout.Initiation.ephemeral)
            $0.store(encStatic, at: Layout.Initiation.encryptedStatic)
            $0.store(encTimestamp, at: Layout.Initiation.encryptedTimestamp)
        }
        return (m, InitiatorState(localIndex: localIndex, ephemeralPrivate: ephemeral, chainKey: c, hash: h))
    }

    /// Decrypts an initiation; `staticShared` gives DH(our static, their static) for a known peer, else nil.
    static func consumeInitiation(_ m: UnsafeRawBufferPointer, local: LocalIdentity,
                                  staticShared: ([UInt8]) -> Secret?) -> ConsumedInitiation? {
        guard m.count == Layout.Initiation.size else { return nil }
        var c = Secret(Protocol.initialChainKey)
        var h = local.publicKey.withUnsafeBytes { Blake2s.hash(Secret(Protocol.initialHash), $0) }
        let ePub = m.bytes(Layout.Initiation.ephemeral, 32)
        c = KDF.derive(1, key: c, input: ePub)[0]
        h = mixHash(h, ePub)
        guard let es = X25519.sharedSecret(local.privateKey, ePub) else { return nil }
        var kdf = KDF.derive(2, key: c, input: es)
        c = kdf[0]
        let encStatic = m.bytes(Layout.Initiation.encryptedStatic, 32 + AEAD.tagSize)
        guard let remoteStatic = AEAD.open(key: kdf[1], counter: 0, encStatic, ad: h),
              let ss = staticShared(remoteStatic) else { return nil }
        h = mixHash(h, encStatic)
        kdf = KDF.derive(2, key: c, input: ss)
        c = kdf[0]
        let encTimestamp = m.bytes(Layout.Initiation.encryptedTimestamp, TAI64N.size + AEAD.tagSize)
        guard let timestamp = AEAD.open(key: kdf[1], counter: 0, encTimestamp, ad: h) else { return nil }
        h = mixHash(h, encTimestamp)
        return ConsumedInitiation(remoteStatic: remoteStatic, remoteIndex: m.le32(at: Layout.Initiation.sender),
                                  remoteEphemeral: ePub, timestamp: timestamp, chainKey: c, hash: h)
    }

    static func createResponse(to initiation: ConsumedInitiation, presharedKey: Secret, localIndex: UInt32,
                               ephemeral: Secret = X25519.generateSecret()) -> (message: [UInt8], keys: SessionKeys)? {
        var m = [UInt8].message(.response, size: Layout.Response.size)
        var c = initiation.chainKey, h = initiation.hash
        let ePub = X25519.publicKey(ephemeral)
        c = KDF.derive(1, key: c, input: ePub)[0]
        h = mixHash(h, ePub)
        guard let ee = X25519.sharedSecret(ephemeral, initiation.remoteEphemeral),
              let se = X25519.sharedSecret(ephemeral, initiation.remoteStatic) else { return nil }
        c = KDF.derive(1, key: c, input: ee)[0]
        c = KDF.derive(1, key: c, input: se)[0]
        let kdf = KDF.derive(3, key: c, input: presharedKey)
        c = kdf[0]
        h = Blake2s.hash(h, kdf[1].raw)
        let encNothing = AEAD.seal(key: kdf[2], counter: 0, [], ad: h)
        m.withUnsafeMutableBytes {
            $0.storeLE32(localIndex, at: Layout.Response.sender)
            $0.storeLE32(initiation.remoteIndex, at: Layout.Response.receiver)
            $0.store(ePub, at: Layout.Response.ephemeral)
            $0.store(encNothing, at: Layout.Response.encryptedNothing)
        }
        let t = KDF.derive(2, key: c, input: [])
        return (m, SessionKeys(send: t[1], receive: t[0]))
    }

    /// The session keys and the responder's index, if `m` answers the initiation `state` was made for.
    static func consumeResponse(_ m: UnsafeRawBufferPointer, state: InitiatorState, local: LocalIdentity,
                                presharedKey: Secret) -> (remoteIndex: UInt32, keys: SessionKeys)? {
        guard m.count == Layout.Response.size, m.le32(at: Layout.Response.receiver) == state.localIndex else { return nil }
        var c = state.chainKey, h = state.hash
        let ePub = m.bytes(Layout.Response.ephemeral, 32)
        c = KDF.derive(1, key: c, input: ePub)[0]
        h = mixHash(h, ePub)
        guard let ee = X25519.sharedSecret(state.ephemeralPrivate, ePub),
              let se = X25519.sharedSecret(local.privateKey, ePub) else { return nil }
        c = KDF.derive(1, key: c, input: ee)[0]
        c = KDF.derive(1, key: c, input: se)[0]
        let kdf = KDF.derive(3, key: c, input: presharedKey)
        c = kdf[0]
        h = Blake2s.hash(h, kdf[1].raw)
        guard AEAD.open(key: kdf[2], counter: 0, m.bytes(Layout.Response.encryptedNothing, AEAD.tagSize), ad: h) != nil
        else { return nil }
        let t = KDF.derive(2, key: c, input: [])
        return (m.le32(at: Layout.Response.sender), SessionKeys(send: t[0], receive: t[1]))
    }

    private static func mixHash(_ h: Secret, _ data: [UInt8]) -> Secret {
        data.withUnsafeBytes { Blake2s.hash(h, $0) }
    }
}
