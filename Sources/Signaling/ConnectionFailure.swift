import Foundation
import GRPCCore
import NIOCore
import NIOPosix

/// Why a connection to a signaling server failed, in few words: the system call's own text ("connection
/// refused", "no route to host") or the name that did not resolve, dug out of the wrappers NIO and gRPC put
/// around it; anything else as the error describes itself.
func connectionFailure(_ error: any Error) -> String {
    switch error {
    case let error as IOError:
        return errnoText(error.errnoCode)
    case let error as NIOConnectionError:
        if let first = error.connectionErrors.first { return connectionFailure(first.error) }
        return "cannot resolve \(error.host)"
    case let error as SocketAddressError:
        if case .unknown(let host, _) = error { return "cannot resolve \(host)" }
        return "\(error)"
    case ChannelError.connectTimeout:
        return "timed out"
    case let error as RPCError:
        if let cause = error.cause { return connectionFailure(cause) }
        return "\(error)"
    default:
        // Errors that only carry the errno in their text (some gRPC causes).
        let text = "\(error)"
        if let range = text.range(of: #"errno: (\d+)"#, options: .regularExpression),
           let code = Int32(text[range].dropFirst("errno: ".count)) {
            return errnoText(code)
        }
        return text
    }
}

/// strerror's text as a message part: "Connection refused" → "connection refused".
private func errnoText(_ code: Int32) -> String {
    let text = String(cString: strerror(code))
    return text.prefix(1).lowercased() + text.dropFirst()
}
