/// The version every wg-ice executable reports with `--version`.
public let wgIceVersion = "0.1.0"
