import Keys

/// The parser's running state: the configuration so far, the open section, and the findings.
struct ParseState {
    enum Section: Equatable {
        case none
        case interface(spaced: Bool)
        case peer
        case ice
        case unknown
    }

    /// A `[Peer]` until its section ends; wg requires a PublicKey by then.
    struct PeerDraft {
        var header: Int
        var publicKey: Key?
        /// A PublicKey line was there but bad (already reported, so "no PublicKey" would be noise).
        var publicKeyRefused = false
        var presharedKey: Key?
        var allowedIPs: [IPNetwork] = []
        var endpoint: Endpoint?
        var persistentKeepalive: UInt16 = 0
    }

    let path: String
    var configuration = Configuration()
    var diagnostics: [Diagnostic] = []
    var section = Section.none
    var peer: PeerDraft?
    /// The header line of each peer kept so far, by key: a repeated key is found in constant time.
    var peerLines: [Key: Int] = [:]
    /// ICE keys that take one value, with the line that set them (a second one is an error).
    var iceScalarLines: [String: Int] = [:]
    /// Lines of list keys whose first occurrence replaces the default (CandidateTypes, NetworkTypes).
    var iceListSeen: Set<String> = []
    var firstTURNLine: Int?
    /// A Signaling line was written, valid or not: one that was refused has its error, and the warning that
    /// there is no backend would only repeat it.
    var hasSignalingLine = false
    var hasSTUNServer = false
    var candidateTypesLine: Int?
    var saveConfigLine: Int?
    var peerSelectionLine: Int?
    /// Where the first `[ICE]` section or `#[ICE]` block starts.
    var iceLine: Int?

    init(path: String) { self.path = path }

    mutating func error(_ line: Int, _ origin: RuleOrigin, _ message: String) {
        diagnostics.append(Diagnostic(path: path, line: line, severity: .error, origin: origin, message: message))
    }

    mutating func warning(_ line: Int, _ origin: RuleOrigin, _ message: String) {
        diagnostics.append(Diagnostic(path: path, line: line, severity: .warning, origin: origin, message: message))
    }

    /// A line starting with `[`. wg removes all whitespace, so `[ Peer ]` is `[Peer]`; anything after
    /// the `]` makes it unrecognized. Returns the line inih should scan.
    mutating func sectionHeader(_ content: ArraySlice<UInt8>, line: Int) -> [UInt8] {
        closePeer()
        let squeezed = content.filter { !isSpace($0) }
        guard squeezed.count >= 2, squeezed.last == UInt8(ascii: "]"),
              !squeezed.dropFirst().dropLast().contains(UInt8(ascii: "]")) else {
            section = .unknown
            error(line, .wireGuard, "`\(String(decoding: content, as: UTF8.self))' is not a section header ([Interface], [Peer] or [ICE])")
            // An empty section for inih, so the keys below it are in no known section there too.
            return Array("[]".utf8)
        }
        let name = String(decoding: squeezed.dropFirst().dropLast(), as: UTF8.self)
        switch name.lowercased() {
        case "interface": section = .interface(spaced: squeezed.count != content.count)
        case "peer":
            section = .peer
            peer = PeerDraft(header: line)
        case "ice":
            section = .ice
            openICE(line: line)
        default:
            section = .unknown
            error(line, .wireGuard, "unknown section [\(name)] (expected [Interface], [Peer] or [ICE])")
        }
        return Array(squeezed)
    }

    /// A line that is not a section header. Returns what inih should scan: the line when it is a
    /// `Key = Value` wg would split the same way, or nothing after reporting why not.
    mutating func assignmentLine(_ content: ArraySlice<UInt8>, line: Int) -> [UInt8] {
        let origin: RuleOrigin = section == .ice ? .wgIce : .wireGuard
        // Messages name the key but never echo the line: it may hold a private key.
        guard let equals = content.firstIndex(of: UInt8(ascii: "=")) else {
            error(line, origin, "this line is neither a section header nor `Key = Value'")
            return []
        }
        let key = String(decoding: content[..<equals].trimmed(), as: UTF8.self)
        guard isKeyName(squeezed(key.split(separator: ":", maxSplits: 1).first.map(String.init) ?? "")) else {
            error(line, origin, Self.notAKeyName)
            return []
        }
        // inih also splits at `:`; wg does not, so `Key: value` is no key at all.
        if let colon = key.firstIndex(of: ":") {
            error(line, origin, "unknown key `\(key[..<colon]):...' (keys and values are separated by `=')")
            return []
        }
        if section == .none {
            error(line, .wireGuard, "\(key) is outside any section (start with [Interface] or [Peer])")
            return []
        }
        return Array(content)
    }

    mutating func openICE(line: Int) {
        configuration.hasICESettings = true
        if iceLine == nil { iceLine = line }
    }

    /// One `Key = Value` from inih. Returns the role of its line.
    mutating func entry(_ entry: IniScanner.Entry) -> LineRole {
        let key = squeezed(entry.name)
        let lower = key.lowercased()
        guard isKeyName(key) else {
            error(entry.line, section == .ice ? .wgIce : .wireGuard, Self.notAKeyName)
            return section == .ice ? .wgIce : .wireGuard
        }
        // inih's section is the one dispatched on; `section` agrees and adds what inih cannot know.
        switch (entry.section.lowercased(), section) {
        case ("interface", .interface(let spaced)):
            if let rule = WgQuickRule(rawValue: lower) {
                if key != entry.name {
                    error(entry.line, .wgQuick, "wg-quick does not recognise `\(entry.name)' with spaces inside; write \(rule.spelling)")
                } else if spaced {
                    error(entry.line, .wgQuick, "\(rule.spelling) is under a section header written with spaces, which wg-quick does not recognise as [Interface]; write [Interface]")
                } else if let value = entry.value {
                    applyWgQuick(rule, value: value, line: entry.line)
                } else {
                    refuseInvalidUTF8(name: key, line: entry.line, .wgQuick)
                }
                return .wgQuick
            }
            // Every WireGuard key's value is ASCII (keys, numbers, addresses, host names): wg refuses these too.
            guard let value = entry.value else { refuseInvalidUTF8(name: key, line: entry.line, .wireGuard); break }
            interfaceEntry(key: lower, name: key, value: squeezed(value), line: entry.line)
        case ("peer", .peer):
            guard let value = entry.value else {
                if lower == "publickey" { peer?.publicKeyRefused = true }
                refuseInvalidUTF8(name: key, line: entry.line, .wireGuard)
                break
            }
            peerEntry(key: lower, name: key, value: squeezed(value), line: entry.line)
        case ("ice", .ice):
            if let value = entry.value { iceEntry(name: entry.name, value: value, line: entry.line) } else {
                refuseInvalidUTF8(name: entry.name, line: entry.line, .wgIce)
            }
            return .wgIce
        default:
            break
        }
        return .wireGuard
    }

    /// Bytes that are not UTF-8 are refused, not repaired: a repaired Username or PostUp would silently be
    /// another value than the file's.
    mutating func refuseInvalidUTF8(name: String, line: Int, _ origin: RuleOrigin) {
        let key = squeezed(name)
        error(line, origin, isKeyName(key) ? "invalid UTF-8 in the value of \(key)" : "invalid UTF-8 in a value")
    }

    static let notAKeyName = "unknown key (not shown: it is too long or has characters no key has, and may be a secret)"

    /// What can be echoed in a message: something shaped like a key name. A line like
    /// `PrivateKey<the key>=` has a "key" that is mostly secret.
    func isKeyName(_ name: String) -> Bool {
        name.utf8.count <= 32 && name.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) }
    }

    /// wg(8) reads values with every whitespace character removed.
    func squeezed(_ value: String) -> String {
        String(decoding: value.utf8.filter { !isSpace($0) }, as: UTF8.self)
    }

    mutating func closePeer() {
        guard let draft = peer else { return }
        peer = nil
        guard let key = draft.publicKey else {
            if draft.publicKeyRefused { return }
            error(draft.header, .wireGuard, "[Peer] has no PublicKey")
            return
        }
        if let other = peerLines[key] {
            error(draft.header, .stricterThanWireGuard,
                  "PublicKey \(key) was already used by the [Peer] on line \(other); wg would merge the two")
            return
        }
        peerLines[key] = draft.header
        var section = PeerSection(publicKey: key, line: draft.header)
        section.presharedKey = draft.presharedKey
        section.allowedIPs = draft.allowedIPs
        section.endpoint = draft.endpoint
        section.persistentKeepalive = draft.persistentKeepalive
        configuration.peers.append(section)
    }

    /// Checks that need the whole file.
    mutating func finish() {
        closePeer()
        let ice = configuration.ice
        // Presence, not validity: a refused Username has its own error already.
        let hasUsername = iceScalarLines["username"] != nil, hasPassword = iceScalarLines["password"] != nil
        if let line = firstTURNLine, !hasUsername || !hasPassword {
            error(line, .wgIce, "URLs: a turn:/turns: server needs both Username and Password")
        }
        if ice.candidateTypes == [.relay], firstTURNLine == nil, let line = candidateTypesLine {
            error(line, .wgIce, "CandidateTypes = relay needs a turn: server in URLs")
        }
        if hasUsername != hasPassword, let line = iceScalarLines["username"] ?? iceScalarLines["password"] {
            error(line, .wgIce, hasUsername ? "Username without Password" : "Password without Username")
        }
        if configuration.hasICESettings && ice.signaling.isEmpty && !hasSignalingLine {
            warning(iceLine ?? 1, .wgIce, "no Signaling backend: wg-ice cannot exchange candidates with peers")
        }
        if configuration.interface.saveConfig && configuration.hasICESettings, let line = saveConfigLine {
            warning(line, .wgQuick, "SaveConfig = true with wg-ice settings: wg-quick down rewrites the file and drops the comments and the [ICE] settings")
        }
    }
}
