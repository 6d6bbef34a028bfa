/// The outcome of parsing one file: the configuration (meaningful only when `isValid`), every
/// error and warning, and what each line is for (which `strip` uses).
public struct ParseResult: Sendable {
    public var configuration: Configuration
    public var diagnostics: [Diagnostic]
    let lines: [(bytes: ArraySlice<UInt8>, role: LineRole)]

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }
    public var isValid: Bool { errors.isEmpty }

    /// The file with every wg-quick key and every wg-ice setting (both forms) removed: what
    /// `wg setconf` and `wg syncconf` accept. Other lines, comments included, are kept verbatim.
    /// This is computed even for an invalid file; callers decide whether to use it.
    public var stripped: [UInt8] {
        var out: [UInt8] = []
        for line in lines where line.role == .wireGuard {
            out += line.bytes
            out.append(10)
        }
        return out
    }

    public func role(ofLine number: Int) -> LineRole? {
        number >= 1 && number <= lines.count ? lines[number - 1].role : nil
    }
}

public enum ConfParser {
    /// The largest configuration file the tools read: a thousand times a large hub's file, and small
    /// enough that no file can make a tool use much memory or time.
    public static let maximumFileSize = 1 << 20

    /// Reads and parses a file; throws only when the file cannot be read, is not a regular file, or
    /// is larger than `maximumFileSize`.
    public static func parse(contentsOf path: String) throws(ReadError) -> ParseResult {
        parse(try ConfigFile.contents(of: path, limit: maximumFileSize), path: path)
    }

    /// Parses the bytes of a wg-quick file. `path` only labels the diagnostics.
    public static func parse(_ data: [UInt8], path: String) -> ParseResult {
        var state = ParseState(path: path)
        let lines = splitLines(data)
        var roles = [LineRole](repeating: .wireGuard, count: lines.count)
        var inBlock = false

        // inih pulls one line at a time and reports its assignments before pulling the next, so the
        // state here is always that of the line being reported. Comment lines (and the #[ICE] block
        // in them) are handled here and handed to inih as empty lines, keeping its line numbers.
        IniScanner.scan(count: lines.count, longest: lines.map(\.bytes.count).max() ?? 0) { number in
            let line = lines[number - 1]
            var bytes = line.bytes
            while bytes.last == 13 { bytes.removeLast() }
            if number == 1 && bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
                state.error(1, .wireGuard, "the file starts with a UTF-8 byte order mark, which wg does not accept")
                bytes.removeFirst(3)
            }
            if bytes.contains(0) {
                state.error(number, .stricterThanWireGuard, "the line contains a NUL byte")
                inBlock = false
                return []
            }
            var leading = bytes
            while let f = leading.first, isSpace(f) { leading.removeFirst() }
            if leading.first == UInt8(ascii: "#") {
                switch classifyCommentLine(leading.dropFirst(), inBlock: inBlock) {
                case .header?:
                    inBlock = true
                    state.openICE(line: number)
                    roles[number - 1] = .wgIce
                case .setting(let name, let value)?:
                    if let value { state.iceEntry(name: name, value: value, line: number) } else {
                        state.refuseInvalidUTF8(name: name, line: number, .wgIce)
                    }
                    roles[number - 1] = .wgIce
                case .comment?:
                    roles[number - 1] = .wgIce
                case nil:
                    break
                }
                return []
            }
            inBlock = false
            let content = bytes.uncommented().trimmed()
            guard !content.isEmpty else { return [] }
            let scanned = content.first == UInt8(ascii: "[")
                ? state.sectionHeader(content, line: number) : state.assignmentLine(content, line: number)
            if state.section == .ice { roles[number - 1] = .wgIce }
            return scanned
        } onEntry: { entry in
            if state.entry(entry) == .wgQuick { roles[entry.line - 1] = .wgQuick }
        }
        state.finish()
        let diagnostics = state.diagnostics.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }.map(\.element)
        return ParseResult(configuration: state.configuration, diagnostics: diagnostics,
                           lines: zip(lines, roles).map { ($0.bytes, $1) })
    }
}

/// The file could not be read at all.
public struct ReadError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}
