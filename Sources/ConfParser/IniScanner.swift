import CInih
import Foundation

/// libinih, configured to scan like wg (see wg_ice_inih_configure). Its options are process-wide
/// globals, so scans run one at a time.
enum IniScanner {
    /// One `name = value` inih found, with the section it was under.
    struct Entry {
        var section: String
        var name: String
        /// Nil when the bytes are not UTF-8: such a value is refused, never repaired.
        var value: String?
        var line: Int
    }

    private static let lock = NSLock()

    /// Asks `nextLine` for lines 1...`count` as inih reads them (free of comments and CRs, one per
    /// source line, so inih's line numbers are the file's; none longer than `longest`) and calls
    /// `onEntry` for each assignment before asking for the next line. inih's result (the first line
    /// it could not scan) is dropped: callers refuse, with a precise message, every line inih could
    /// refuse before handing it over.
    static func scan(count: Int, longest: Int, nextLine: (Int) -> [UInt8], onEntry: (Entry) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        // Room for the longest line plus "\n\0" and inih's extra byte, so no line is ever split.
        wg_ice_inih_configure(Int32(clamping: max(256, longest + 3)))
        withoutActuallyEscaping(nextLine) { nextLine in
            withoutActuallyEscaping(onEntry) { onEntry in
                let feed = Feed(count: count, nextLine: nextLine, onEntry: onEntry)
                let pointer = Unmanaged.passUnretained(feed).toOpaque()
                _ = ini_parse_stream(readLine, pointer, handleEntry, pointer)
            }
        }
    }

    private final class Feed {
        let count: Int
        var number = 0
        /// The line being handed out (with its newline) and how much of it inih has taken.
        var pending: [UInt8] = []
        var taken = 0
        let nextLine: (Int) -> [UInt8]
        let onEntry: (Entry) -> Void
        init(count: Int, nextLine: @escaping (Int) -> [UInt8], onEntry: @escaping (Entry) -> Void) {
            self.count = count
            self.nextLine = nextLine
            self.onEntry = onEntry
        }
    }

    /// fgets for inih: the next line with its newline, in pieces of at most size-1 bytes when inih's
    /// buffer is smaller (it grows the buffer and asks for the rest before counting the line).
    private static let readLine: ini_reader = { buffer, size, stream in
        guard let buffer, let stream, size > 1 else { return nil }
        let feed = Unmanaged<Feed>.fromOpaque(stream).takeUnretainedValue()
        if feed.taken == feed.pending.count {
            guard feed.number < feed.count else { return nil }
            feed.number += 1
            feed.pending = feed.nextLine(feed.number) + [10]
            feed.taken = 0
        }
        let n = min(Int(size) - 1, feed.pending.count - feed.taken)
        feed.pending.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                buffer.update(from: chars.baseAddress! + feed.taken, count: n)
            }
        }
        buffer[n] = 0
        feed.taken += n
        return buffer
    }

    private static let handleEntry: ini_handler = { user, section, name, value, line in
        guard let user, let section, let name, let value else { return 0 }
        let feed = Unmanaged<Feed>.fromOpaque(user).takeUnretainedValue()
        feed.onEntry(Entry(section: String(cString: section), name: String(cString: name),
                           value: String(validatingCString: value), line: Int(line)))
        return 1
    }
}
