import Foundation

/// Writes `lines` to stderr in one write: a 1 MiB configuration can hold half a million errors, and a
/// write per line would spend more time in the kernel than the parser spends finding them.
public func printErrors(_ lines: [String]) {
    guard !lines.isEmpty else { return }
    FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
}
