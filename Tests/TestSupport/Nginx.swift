import Foundation

/// A real nginx (Debian's) as a TLS-terminating reverse proxy on 127.0.0.1 and [::1], port `port`, with
/// `locations` (nginx `location` blocks) inside its one server. Prefix, config, logs, pid file and temp files
/// live in `directory`, which `stop()` removes. Runs in the foreground (`daemon off`) so the test owns it.
public struct Nginx: Sendable {
    let process: Process
    public let directory: URL
    public let port: Int

    /// Tries ports from `ports` until one binds.
    public init(certificate: String, key: String, locations: String, ports: ClosedRange<Int>) throws {
        var lastError: any Error = Timeout(description: "no port tried")
        for _ in 0..<5 {
            do {
                self = try Nginx(certificate: certificate, key: key, locations: locations, port: Int.random(in: ports))
                return
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    private init(certificate: String, key: String, locations: String, port: Int) throws {
        self.port = port
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nginx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let d = directory.path
        let config = directory.appendingPathComponent("nginx.conf")
        try """
            daemon off;
            worker_processes 1;
            pid \(d)/nginx.pid;
            error_log \(d)/error.log info;
            events { worker_connections 256; }
            http {
                access_log \(d)/access.log;
                client_body_temp_path \(d)/body;
                proxy_temp_path \(d)/proxy;
                fastcgi_temp_path \(d)/fastcgi;
                uwsgi_temp_path \(d)/uwsgi;
                scgi_temp_path \(d)/scgi;
                server {
                    listen 127.0.0.1:\(port) ssl http2;
                    listen [::1]:\(port) ssl http2;
                    ssl_certificate \(certificate);
                    ssl_certificate_key \(key);
                    root \(d)/empty;
            \(locations)
                }
            }
            """.write(to: config, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
        process.arguments = ["-p", d, "-e", "\(d)/error.log", "-c", config.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try waitForListening()
    }

    private func waitForListening() throws {
        for _ in 0..<200 where process.isRunning {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("nginx.pid").path) { return }
            usleep(25_000)
        }
        let log = (try? String(contentsOf: directory.appendingPathComponent("error.log"), encoding: .utf8)) ?? ""
        stop()
        throw Timeout(description: "nginx did not start on port \(port): \(log)")
    }

    /// The access log so far (one line per request, with the request line).
    public var accessLog: String {
        (try? String(contentsOf: directory.appendingPathComponent("access.log"), encoding: .utf8)) ?? ""
    }

    /// SIGTERM (fast shutdown: the master stops its workers), wait, remove the directory.
    public func stop() {
        if process.isRunning { process.terminate() }
        reap(process)
        try? FileManager.default.removeItem(at: directory)
    }
}
