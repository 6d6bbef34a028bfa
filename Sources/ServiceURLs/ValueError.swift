/// Why a URL was refused: ConfParser adds the path, line and key; a command line, the option.
public struct ValueError: Error, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}
