import ArgumentParser
import BankHub
import Foundation

/// `bankhub serve` flags for the notification outbox: where e-mail goes, and the HTTP gateway SMS goes to.
/// The SMTP password is read from an environment variable named on the command line, never from an argument,
/// so it stays out of `ps` and shell history.
struct NotifyOptions: ParsableArguments {
    @Option(help: "Notification sink: log (every message to the hub's log) or smtp (e-mail to --smtp-host).")
    var notify = "log"
    @Option(help: "SMTP server for --notify smtp.") var smtpHost: String?
    @Option(help: "SMTP server port.") var smtpPort = 25
    @Option(help: "SMTP user for AUTH PLAIN or LOGIN (only over STARTTLS, or to a loopback host).") var smtpUser: String?
    @Option(help: "Name of the environment variable holding the SMTP password.") var smtpPasswordEnv: String?
    @Flag(help: "Upgrade the SMTP connection with STARTTLS (required if the server does not offer it).")
    var smtpStarttls = false
    @Option(help: "From address of e-mail notifications.") var smtpFrom = "bankhub@localhost"
    @Flag(help: "Skip the SMTP server's certificate check (only for local test servers).") var smtpInsecure = false
    @Option(help: "HTTP SMS gateway: each SMS is POSTed as JSON {to, body} to this http:// or https:// URL. Without it SMS goes to the log, and codes go by e-mail when the user has an address.")
    var smsWebhook: String?

    func apply(to options: inout HubServer.Options) throws {
        var configuration = NotificationConfiguration()
        guard let sink = NotificationConfiguration.Sink(rawValue: notify) else {
            throw ValidationError("--notify must be log or smtp")
        }
        configuration.sink = sink
        if sink == .smtp {
            guard let smtpHost, !smtpHost.isEmpty else { throw ValidationError("--notify smtp needs --smtp-host") }
            configuration.smtpHost = smtpHost
        }
        guard (1...65_535).contains(smtpPort) else { throw ValidationError("--smtp-port must be 1...65535") }
        configuration.smtpPort = smtpPort
        configuration.smtpUser = smtpUser
        if let smtpPasswordEnv {
            guard let password = ProcessInfo.processInfo.environment[smtpPasswordEnv] else {
                throw ValidationError("--smtp-password-env: the environment variable \(smtpPasswordEnv) is not set")
            }
            guard smtpUser != nil else { throw ValidationError("--smtp-password-env needs --smtp-user") }
            configuration.smtpPassword = password
        }
        configuration.smtpStartTLS = smtpStarttls
        guard !smtpFrom.isEmpty, !smtpFrom.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" }) else {
            throw ValidationError("--smtp-from must be a plain address such as bankhub@example.com")
        }
        configuration.smtpFrom = smtpFrom
        configuration.smtpVerifyCertificate = !smtpInsecure
        if let smsWebhook, !configuration.setSMSWebhook(url: smsWebhook) {
            throw ValidationError("--sms-webhook must be an http:// or https:// URL with a host, such as http://127.0.0.1:9000/sms")
        }
        options.notifications = configuration
    }
}
