
/// What `strip` does with a line: keep it for `wg setconf`, or drop it because only wg-quick or
/// wg-ice reads it.
public enum LineRole: Sendable, Equatable {
    case wireGuard
    case wgQuick
    case wgIce
}

/// One physical line of the file, without its newline.
struct SourceLine {
    var number: Int
    var bytes: ArraySlice<UInt8>
}

/// Splits at `\n`; a final line without a newline still counts (like wg's getline and wg-quick's read).
func splitLines(_ data: [UInt8]) -> [SourceLine] {
    var lines: [SourceLine] = []
    var start = 0
    for (i, byte) in data.enumerated() where byte == 10 {
        lines.append(SourceLine(number: lines.count + 1, bytes: data[start..<i]))
        start = i + 1
    }
    if start < data.count { lines.append(SourceLine(number: lines.count + 1, bytes: data[start...])) }
    return lines
}

@inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 32 || (c >= 9 && c <= 13) }

extension ArraySlice where Element == UInt8 {
    func trimmed() -> ArraySlice<UInt8> {
        var s = self
        while let f = s.first, isSpace(f) { s.removeFirst() }
        while let l = s.last, isSpace(l) { s.removeLast() }
        return s
    }

    /// Everything before the first `#`: wg and wg-quick both end a line's content there.
    func uncommented() -> ArraySlice<UInt8> {
        guard let hash = firstIndex(of: UInt8(ascii: "#")) else { return self }
        return self[..<hash]
    }
}

/// The commented `#[ICE]` block: its header, its `# Key = Value` settings, and its other comments.
enum CommentedICELine: Equatable {
    case header
    /// `value` is nil when its bytes are not UTF-8.
    case setting(name: String, value: String?)
    case comment
}

/// Classifies a `#` line (`body` is what follows the `#`) given whether a commented block is open.
/// Returns nil for a comment that has nothing to do with wg-ice.
func classifyCommentLine(_ body: ArraySlice<UInt8>, inBlock: Bool) -> CommentedICELine? {
    if body.first == UInt8(ascii: "#") { return inBlock ? .comment : nil }
    let content = body.trimmed()
    if content.count == 5, String(decoding: content, as: UTF8.self).lowercased() == "[ice]" { return .header }
    guard inBlock else { return nil }
    // Same rule as a literal [ICE] line: a `#` ends the value, so both forms mean the same.
    let setting = content.uncommented()
    guard let equals = setting.firstIndex(of: UInt8(ascii: "=")) else { return .comment }
    let name = String(decoding: setting[..<equals].trimmed(), as: UTF8.self)
    let value = String(validating: setting[(equals + 1)...].trimmed(), as: UTF8.self)
    return .setting(name: name, value: value)
}
