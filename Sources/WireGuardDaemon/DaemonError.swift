import Glibc

public enum DaemonError: Error, CustomStringConvertible {
    case system(String, Int32)
    case usage(String)

    public var description: String {
        switch self {
        case .system(let what, let code): "\(what): \(String(cString: strerror(code)))"
        case .usage(let text): text
        }
    }
}
