import Addresses
import ServiceURLs

/// The [Interface] keys wg-quick consumes itself (everything else it passes to `wg setconf`).
/// Values arrive trimmed, inner spaces kept, as wg-quick's bash reads them.
enum WgQuickRule: String {
    case address, dns, mtu, table, preup, postup, predown, postdown, saveconfig

    var spelling: String {
        switch self {
        case .address: return "Address"
        case .dns: return "DNS"
        case .mtu: return "MTU"
        case .table: return "Table"
        case .preup: return "PreUp"
        case .postup: return "PostUp"
        case .predown: return "PreDown"
        case .postdown: return "PostDown"
        case .saveconfig: return "SaveConfig"
        }
    }
}

extension ParseState {
    mutating func applyWgQuick(_ rule: WgQuickRule, value: String, line: Int) {
        // wg-quick splits Address and DNS on commas and whitespace alike.
        let items = value.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
        switch rule {
        case .address:
            for item in items {
                guard let network = IPNetwork(item) else {
                    error(line, .wgQuick, "Address `\(item)' is not an IP address with an optional /prefix")
                    continue
                }
                configuration.interface.addresses.append(network)
            }
        case .dns:
            for item in items {
                // wg-quick's own test: digits and dots, or anything with a colon, is a server.
                if item.allSatisfy({ $0 == "." || ($0.isASCII && $0.isNumber) }) || item.contains(":") {
                    guard let ip = IPAddress(item) else {
                        error(line, .wgQuick, "DNS `\(item)' looks like a server address but is not an IP address")
                        continue
                    }
                    configuration.interface.dnsServers.append(ip)
                } else if Host.isName(item) {
                    configuration.interface.dnsSearch.append(item)
                } else {
                    error(line, .wgQuick, "DNS `\(item)' is neither an IP address nor a search domain")
                }
            }
        case .mtu:
            if value.isEmpty {
                configuration.interface.mtu = nil
            } else if let mtu = parseDecimal(value, Int.self, in: 68...65535) {
                configuration.interface.mtu = mtu
            } else {
                error(line, .wgQuick, "MTU `\(value)' is not a number 68-65535")
            }
        case .table:
            switch value.lowercased() {
            case "", "auto": configuration.interface.table = .auto
            case "off": configuration.interface.table = .off
            default:
                if let n = parseDecimal(value, UInt32.self, in: 0...UInt32.max) {
                    configuration.interface.table = .number(n)
                } else if value.first?.isLetter == true,
                          value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }) {
                    configuration.interface.table = .name(value)
                } else {
                    error(line, .wgQuick, "Table `\(value)' is not off, auto, a table number or a table name")
                }
            }
        case .preup, .postup, .predown, .postdown:
            // wg-quick runs an empty hook as a no-op, so it is not kept.
            guard !value.isEmpty else { return }
            switch rule {
            case .preup: configuration.interface.preUp.append(value)
            case .postup: configuration.interface.postUp.append(value)
            case .predown: configuration.interface.preDown.append(value)
            default: configuration.interface.postDown.append(value)
            }
        case .saveconfig:
            switch value.lowercased() {
            case "true":
                configuration.interface.saveConfig = true
                saveConfigLine = line
            case "false":
                configuration.interface.saveConfig = false
                saveConfigLine = nil
            default: error(line, .wgQuick, "SaveConfig `\(value)' is neither true nor false")
            }
        }
    }
}
