import ArgumentParser
import BankHub
import BankPostgres
import Foundation

/// `bankhub serve` flags for several hubs on one PostgreSQL database, joined by a NATS bus (docs/scaling.md,
/// "Several hubs on one database").
struct BusOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Join the other hubs of --database over this NATS bus (comma-separated servers, tried in order). Credentials go before the host: nats://USER:PASSWORD@HOST:PORT or nats://TOKEN@HOST:PORT (prefer BANKHUB_BUS to keep them off the command line; they are never logged), or come from --bus-nkey-seed-file or --bus-creds-file. tls:// for TLS on every server. Needs the bus key: BANKHUB_BUS_KEY or --bus-key-file.",
                               valueName: "nats://HOST:PORT[,nats://…]"))
    var bus: String?
    @Option(help: ArgumentHelp("PEM file of the certificate authorities that sign the NATS servers' certificates (tls:// only; default: the system's trust store). The certificates must name the first server's host.",
                               valueName: "pem-file"))
    var busCaFile: String?
    @Option(help: ArgumentHelp("File holding this hub's user NKey seed (SU…, from `nk -gen user`; mode 0600) for a NATS server that lists the user's public key (authorization { users = [ { nkey: U… } ] }): libnats signs the server's challenge with it, the seed never crosses the wire and is never shown. Not with credentials in the --bus URLs or --bus-creds-file.",
                               valueName: "seed-file"))
    var busNkeySeedFile: String?
    @Option(help: ArgumentHelp("NATS credentials file (user JWT and NKey seed, from `nsc`; mode 0600) for a NATS server in operator mode (decentralized auth). Not with credentials in the --bus URLs or --bus-nkey-seed-file.",
                               valueName: "creds-file"))
    var busCredsFile: String?
    @Option(help: ArgumentHelp("How often the hub compares the streams its clients follow with the database: an event the bus did not bring reaches them within two periods plus one read.",
                               valueName: "milliseconds"))
    var busHeadCheckMs = 250
    @Option(help: "File holding the bus key as hex (at least 64 characters, mode 0600, the same on every hub); BANKHUB_BUS_KEY is used instead when set.")
    var busKeyFile: String?
    @Flag(help: "Do not run the outbox worker (delivery, retries, receipts) on this hub, only queue. Every hub of a database may run it (they claim messages per row); this leaves the sending to the others.")
    var noOutboxWorker = false

    /// The servers of `--bus`, in order.
    var urls: [String] {
        (bus ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The servers with their credentials masked.
    var displayURLs: String { HubBusOptions(urls: urls).displayURLs }

    static var keyFromEnvironment: String? {
        ProcessInfo.processInfo.environment["BANKHUB_BUS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The bus needs the shared database and the key, and at most one usable identity file (NKey seed or creds,
    /// never beside credentials in the URLs); checked before anything is opened.
    func validate(database: String?) throws {
        guard let bus else {
            if busKeyFile != nil { throw ValidationError("--bus-key-file is for --bus") }
            if busCaFile != nil { throw ValidationError("--bus-ca-file is for --bus") }
            if busNkeySeedFile != nil { throw ValidationError("--bus-nkey-seed-file is for --bus") }
            if busCredsFile != nil { throw ValidationError("--bus-creds-file is for --bus") }
            if noOutboxWorker { throw ValidationError("--no-outbox-worker is for --bus (a hub alone must deliver its own messages)") }
            return
        }
        guard database != nil else {
            throw ValidationError("--bus joins hubs that share a PostgreSQL database: give --database too (an SQLite file serves one hub)")
        }
        guard !urls.isEmpty, urls.allSatisfy({ $0.hasPrefix("nats://") || $0.hasPrefix("tls://") }) else {
            throw ValidationError("--bus \(HubBusOptions(urls: [bus]).displayURLs): use nats://HOST:PORT, several separated by commas")
        }
        guard urls.allSatisfy({ $0.hasPrefix("tls://") }) || urls.allSatisfy({ $0.hasPrefix("nats://") }) else {
            throw ValidationError("--bus: use tls:// for every server or for none")
        }
        if busCaFile != nil, !urls.allSatisfy({ $0.hasPrefix("tls://") }) {
            throw ValidationError("--bus-ca-file is for tls:// servers")
        }
        if busNkeySeedFile != nil, busCredsFile != nil {
            throw ValidationError("--bus-nkey-seed-file or --bus-creds-file, not both")
        }
        if busNkeySeedFile != nil || busCredsFile != nil {
            do {
                try hubBusOptions.validate()
            } catch {
                let flag = busNkeySeedFile != nil ? "--bus-nkey-seed-file" : "--bus-creds-file"
                throw ValidationError("\(flag): \(error.message)")
            }
        }
        guard (1...60_000).contains(busHeadCheckMs) else {
            throw ValidationError("--bus-head-check-ms must be 1...60000")
        }
        guard busKeyFile != nil || Self.keyFromEnvironment != nil else {
            throw ValidationError("--bus needs the bus key (the same on every hub): set BANKHUB_BUS_KEY or --bus-key-file")
        }
    }

    /// Sets `options.bus` (and so the shared hub lock on the database) when `--bus` is given.
    func apply(to options: inout HubServer.Options) {
        options.notifications.outboxWorker = !noOutboxWorker
        guard bus != nil else { return }
        options.bus = hubBusOptions
        options.postgres.hubLock = .shared
    }

    /// The hub's bus settings from these flags.
    private var hubBusOptions: HubBusOptions {
        var bus = HubBusOptions(urls: urls)
        bus.keyHex = Self.keyFromEnvironment
        bus.keyFile = busKeyFile
        bus.caFile = busCaFile
        bus.nkeySeedFile = busNkeySeedFile
        bus.credsFile = busCredsFile
        bus.headCheckMilliseconds = busHeadCheckMs
        bus.name = "bankhub-\(ProcessInfo.processInfo.processIdentifier)"
        return bus
    }
}
