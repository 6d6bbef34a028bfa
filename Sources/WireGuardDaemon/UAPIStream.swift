import Glibc

/// One client's UAPI byte stream, read line by line as it arrives and acted on as wireguard-go's IpcHandle does:
/// a `set` is applied line by line, a `get` written peer by peer. Both stop when their time slice is spent and go
/// on at the next, so a `wg setconf` of ten thousand peers takes turns with the data path instead of stalling it,
/// and what waits is at most one read of input, not the whole request.
struct UAPIStream {
    /// Longer than any UAPI line (the longest, a hex key or an IPv6 endpoint with its scope, is under 100 bytes):
    /// a stream with a longer one is not UAPI.
    static let maxLine = 4096

    enum Progress: Equatable {
        /// Every complete line is handled; more input is needed.
        case waitingForInput
        /// `output` reached its limit: the client must read first.
        case waitingForReader
        /// The time slice is spent with work left.
        case yielded
        /// The stream is done (its end, an error answered, or not UAPI): close once `output` is sent.
        case finished
    }

    private enum State {
        case operation
        /// After `get=1`: its empty line must follow at once.
        case getRequested
        /// Writing a `get`, peer by peer, from this peer slot on.
        case getting(from: UInt32)
        case setting(UAPISetState)
    }

    private var state = State.operation
    private var input = [UInt8]()
    /// Bytes of `input` already handled.
    private var consumed = 0

    /// Received bytes not yet handled.
    var unhandled: Int { input.count - consumed }

    /// A request was begun and is not finished: a `get` not yet written whole, a `set` before its empty line.
    var isMidRequest: Bool {
        if case .operation = state { false } else { true }
    }

    mutating func append(_ bytes: ArraySlice<UInt8>) {
        if consumed > 0 {
            input.removeFirst(consumed)
            consumed = 0
        }
        input += bytes
    }

    /// Handles what was received, appending the replies to `output`, until more input is needed, `output` holds
    /// `outputLimit` bytes, or `clock()` passes `deadline`. At least one line is handled per call.
    mutating func advance<T, B>(device: Device<T, B>, now: UInt64, atEOF: Bool, output: inout [UInt8], outputLimit: Int,
                                clock: () -> UInt64, deadline: UInt64) -> Progress {
        var first = true
        while true {
            if output.count >= outputLimit { return .waitingForReader }
            if !first, clock() >= deadline { return .yielded }
            first = false
            if case .getting(let slot) = state {
                if let id = device.peers.firstID(from: slot) {
                    output += device.uapiGetPeer(id).utf8
                    state = .getting(from: id + 1)
                } else {
                    output += Self.status(0).utf8
                    state = .operation
                }
                continue
            }
            if case .getRequested = state {
                // As wireguard-go: the one byte after `get=1\n` must end the request; anything else is refused at
                // once, without waiting for a line to end.
                guard unhandled > 0 else { return atEOF ? .finished : .waitingForInput }
                guard input[consumed] == 10 else {
                    output += Self.status(EINVAL).utf8
                    return .finished
                }
                consumed += 1
                output += device.uapiGetHeader().utf8
                state = .getting(from: 0)
                continue
            }
            guard let line = nextLine(atEOF: atEOF) else {
                if unhandled > Self.maxLine { return .finished }
                guard atEOF else { return .waitingForInput }
                // As wireguard-go: a `set` ended by the end of the stream is applied; anything else just ends.
                if case .setting(var session) = state {
                    device.uapiSetEnd(&session, now: now)
                    output += Self.status(0).utf8
                    state = .operation
                }
                return .finished
            }
            switch state {
            case .operation:
                if line.complete, line.text == "get=1" {
                    state = .getRequested
                } else if line.complete, line.text == "set=1" {
                    state = .setting(UAPISetState())
                } else {
                    return .finished
                }
            case .setting(var session):
                if line.text.isEmpty {
                    device.uapiSetEnd(&session, now: now)
                    output += Self.status(0).utf8
                    state = .operation
                    continue
                }
                let code = device.uapiSetLine(line.text, &session, now: now)
                state = .setting(session)
                // As wireguard-go: an error ends the connection once its reply is out.
                if code != 0 {
                    output += Self.status(code).utf8
                    return .finished
                }
            case .getRequested, .getting:
                preconditionFailure("handled above")
            }
        }
    }

    /// The next line without its newline; at the end of the stream, what is left even without one (`complete`
    /// false then).
    private mutating func nextLine(atEOF: Bool) -> (text: Substring, complete: Bool)? {
        if let newline = input[consumed...].firstIndex(of: 10) {
            defer { consumed = newline + 1 }
            return (Substring(String(decoding: input[consumed..<newline], as: UTF8.self)), true)
        }
        guard atEOF, unhandled > 0, unhandled <= Self.maxLine else { return nil }
        defer { consumed = input.count }
        return (Substring(String(decoding: input[consumed...], as: UTF8.self)), false)
    }

    /// wireguard-go answers with the errno negated.
    static func status(_ code: Int32) -> String { "errno=\(code == 0 ? 0 : -code)\n\n" }
}
