/// One session's transport keys (whitepaper section 5.4.6) and its counters.
struct Keypair {
    let keys: Noise.SessionKeys
    let localIndex: UInt32
    let remoteIndex: UInt32
    let isInitiator: Bool
    let created: UInt64
    var sendCounter: UInt64 = 0
    var replay = ReplayWindow()

    init(keys: Noise.SessionKeys, localIndex: UInt32, remoteIndex: UInt32, isInitiator: Bool, now: UInt64) {
        self.keys = keys
        self.localIndex = localIndex
        self.remoteIndex = remoteIndex
        self.isInitiator = isInitiator
        created = now
    }

    func canSend(now: UInt64) -> Bool {
        sendCounter < Protocol.rejectAfterMessages && Clock.elapsed(now, since: created) < Protocol.rejectAfterTime
    }

    func canReceive(now: UInt64) -> Bool { Clock.elapsed(now, since: created) < Protocol.rejectAfterTime }

    /// Whether to start the next handshake before this one runs out: either side after REKEY_AFTER_MESSAGES, only
    /// the initiator after REKEY_AFTER_TIME (so that both do not rekey at once), as wireguard-go's keepKeyFreshSending.
    func needsRekeyAfterSending(now: UInt64) -> Bool {
        sendCounter > Protocol.rekeyAfterMessages || (isInitiator && Clock.elapsed(now, since: created) > Protocol.rekeyAfterTime)
    }

    func needsRekeyAfterReceiving(now: UInt64) -> Bool {
        isInitiator && Clock.elapsed(now, since: created) > Protocol.rejectAfterTime - Protocol.keepaliveTimeout - Protocol.rekeyTimeout
    }

    /// Turns the `length` plaintext bytes after the header room of `buffer` into a transport message, padded
    /// to 16 bytes within `mtu`; returns the message length.
    mutating func seal(_ buffer: UnsafeMutableRawBufferPointer, length: Int, mtu: Int) -> Int {
        var padded = (length + Protocol.paddingMultiple - 1) & ~(Protocol.paddingMultiple - 1)
        if padded > mtu { padded = max(length, mtu) }
        let header = Layout.Transport.headerSize
        for i in (header + length)..<(header + padded) { buffer[i] = 0 }
        buffer.storeLE32(UInt32(MessageType.transport.rawValue), at: 0)
        buffer.storeLE32(remoteIndex, at: Layout.Transport.receiver)
        buffer.storeLE64(sendCounter, at: Layout.Transport.counter)
        AEAD.seal(key: keys.send, counter: sendCounter,
                  buffer: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + header, count: padded)
        sendCounter += 1
        return header + padded + AEAD.tagSize
    }

    /// Decrypts transport message `m` (of `count` bytes) in place and checks its counter against replays;
    /// returns the padded plaintext length.
    mutating func open(_ m: UnsafeMutableRawBufferPointer, count: Int) -> Int? {
        let counter = UnsafeRawBufferPointer(m).le64(at: Layout.Transport.counter)
        guard counter < Protocol.rejectAfterMessages,
              AEAD.open(key: keys.receive, counter: counter,
                        buffer: m.baseAddress!.assumingMemoryBound(to: UInt8.self) + Layout.Transport.headerSize,
                        count: count - Layout.Transport.headerSize),
              replay.accept(counter) else { return nil }
        return count - Layout.Transport.minimumSize
    }
}
