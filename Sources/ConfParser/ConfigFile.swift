#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reading a configuration file, the one way every tool does it. Whatever the path names, this returns
/// or throws promptly with bounded memory: a FIFO without a writer, /dev/zero or a directory is refused
/// by what the opened descriptor is, not by what the path looked like a moment before.
enum ConfigFile {
    static func contents(of path: String, limit: Int) throws(ReadError) -> [UInt8] {
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { throw ReadError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ReadError(path: path, reason: String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw ReadError(path: path, reason: "not a regular file (\(kind(info.st_mode))); a configuration is read only from a file")
        }
        let tooLarge = ReadError(path: path, reason: "larger than \(describe(limit)), the limit for a configuration file")
        guard info.st_size <= limit else { throw tooLarge }
        // The size may change while reading: never take more than one byte past the limit.
        var data = [UInt8](repeating: 0, count: limit + 1)
        var count = 0
        while count < data.count {
            let n = data.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw ReadError(path: path, reason: String(cString: strerror(errno)))
            }
            count += n
        }
        guard count <= limit else { throw tooLarge }
        data.removeSubrange(count...)
        return data
    }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "of unknown type"
        }
    }

    private static func describe(_ bytes: Int) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
}
