/// `error` as a message about `interface`: prefixed with its name unless the message names it already
/// ("interface wg0 does not exist", "wg0 is not a WireGuard interface"), so it is never said twice. The name
/// must appear as a word: a short one such as `e` is in most messages as a letter.
public func interfaceMessage(_ error: any Error, about interface: String) -> String {
    let text = "\(error)"
    let words = text.split(whereSeparator: { $0 == " " || $0 == ":" || $0 == "`" || $0 == "'" || $0 == "\"" })
    return words.contains(Substring(interface)) ? text : "\(interface): \(text)"
}
