@testable import ConfParser

/// Parses `text` as the file "t.conf".
func parse(_ text: String) -> ParseResult {
    ConfParser.parse(Array(text.utf8), path: "t.conf")
}

/// The error lines of `text`, as `check` prints them.
func errors(_ text: String) -> [String] {
    parse(text).errors.map(\.description)
}

/// A valid key pair's public half and another public key, for peers in test files.
let keyA = "M5/IVu520CFVAC3Bq2vSChl2njv1n1bMe3hVxa+ociM="
let keyB = "oB0q12Y91mgCIAf5KE6fgiy1BqLuHQYxeDft+M5Ermc="
