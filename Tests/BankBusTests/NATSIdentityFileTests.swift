@testable import BankBus
import Crypto
import Foundation
import NATSTestPeer
import Testing

/// Decentralized NATS auth: a user NKey seed file (`--bus-nkey-seed-file`) or a `.creds` file
/// (`--bus-creds-file`), against a real nats-server; the secrets never appear in what is shown.
struct NATSIdentityFileTests {
    /// The public key derived from a seed is the one the NKeys tools print (the example pair of the libnats
    /// README), and a seed made here decodes back to its bytes.
    @Test func aUserSeedGivesItsPublicKey() throws {
        #expect(try NKey.userPublicKey(fromSeed: "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY\n")
                == "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4")
        let raw = (0..<32).map { UInt8($0) }
        let seed = NKey.userSeed(raw: raw)
        #expect(seed.hasPrefix("SU") && seed.count == 58)
        #expect(try NKey.decodeUserSeed(seed) == raw)
    }

    /// A public key, an account seed, a seed with a wrong character, or no base32 at all is refused, and the
    /// message never repeats the text.
    @Test func whatIsNotAUserSeedIsRefusedWithoutShowingIt() {
        let seed = NKey.userSeed(raw: Array(repeating: 7, count: 32))
        let wrongCharacter = String(seed.prefix(10)) + (seed.dropFirst(10).first == "A" ? "B" : "A") + seed.dropFirst(11)
        let account = NKey.encode([NKey.seedPrefix | 0, 0] + Array(repeating: 7, count: 32))  // `SA…`
        let cases = [("UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4", "must start with S"),
                     (account, "not a user NKey seed"), (wrongCharacter, "checksum"), ("not base32!", "58 base32"),
                     (String(seed.dropLast(4)), "58 base32")]
        for (text, why) in cases {
            #expect(throws: NKey.FormatError.self) { try NKey.userPublicKey(fromSeed: text) }
            do {
                _ = try NKey.userPublicKey(fromSeed: text)
            } catch {
                #expect(error.description.contains(why), "\(error)")
                #expect(!error.description.contains(text.prefix(20)), "\(error)")
            }
        }
    }

    /// A server that lists a user's public key: the hub's seed file connects and carries messages; another
    /// user's seed never connects, and the connection says why (`Authorization Violation`) without the seed.
    @Test func aSeedFileSignsInAndAWrongSeedIsRefused() async throws {
        let (rightSeed, rightFile) = try Self.seedFile()
        let (wrongSeed, wrongFile) = try Self.seedFile()
        let peer = try await NATSPeer.start(auth: .nkeys([try NKey.userPublicKey(fromSeed: rightSeed)]))
        let anonymous = try NATSConnection(.init(urls: [peer.url]))
        defer { anonymous.close() }
        #expect(!anonymous.isConnected, "the server wants an NKey")

        let sender = try NATSConnection(Self.configuration(peer.url, .nkeySeed(path: rightFile)))
        let receiver = try NATSConnection(Self.configuration(peer.url, .nkeySeed(path: rightFile)))
        let refused = try NATSConnection(Self.configuration(peer.url, .nkeySeed(path: wrongFile)))
        defer { sender.close(); receiver.close(); refused.close() }
        #expect(sender.isConnected && receiver.isConnected, "\(sender.lastError ?? "nil")")
        let subscription = try receiver.subscribe("events.>")
        try receiver.flush()
        try sender.publish("events.nkey", Array("signed in".utf8))
        try sender.flush()
        var iterator = subscription.messages.makeAsyncIterator()
        #expect(await iterator.next() == BusMessage(subject: "events.nkey", payload: Array("signed in".utf8)))

        #expect(!refused.isConnected)
        let why = try await Self.lastError(of: refused)
        #expect(why?.lowercased().contains("authorization violation") == true, "\(why ?? "nil")")
        #expect(why?.contains(wrongSeed) == false && why?.contains(rightSeed) == false)
    }

    /// A seed file that is missing, readable by others, or holds no user seed, and a seed file beside
    /// credentials in the URL, are refused before anything is opened; the message names the file, never the seed.
    @Test func unusableSeedFilesAreRefused() throws {
        let (seed, file) = try Self.seedFile()
        let url = "nats://127.0.0.1:4222"
        let publicKeyFile = try Self.privateFile("UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4\n")
        let (_, shared) = try Self.seedFile()
        chmod(shared, 0o640)
        let cases: [(NATSConfiguration, String)] = [
            (Self.configuration(url, .nkeySeed(path: "/nonexistent/hub.nk")), "/nonexistent/hub.nk: no such file"),
            (Self.configuration(url, .nkeySeed(path: shared)), "may be read by others (mode 640)"),
            (Self.configuration(url, .nkeySeed(path: publicKeyFile)), "does not hold a user seed"),
            (Self.configuration("nats://hub:s3cret@127.0.0.1:4222", .nkeySeed(path: file)), "not both"),
            (Self.configuration(url, .credentials(path: shared)), "may be read by others"),
        ]
        for (configuration, why) in cases {
            #expect {
                _ = try NATSConnection(configuration)
            } throws: { error in
                let text = "\(error)"
                return (error as? BusError)?.code == .invalidConfiguration && text.contains(why)
                    && !text.contains(seed) && !text.contains("s3cret")
            }
        }
    }

    /// A server in operator mode (an operator, an account, a memory resolver): a `.creds` file with a user JWT
    /// the account signed connects and carries messages; a `.creds` file whose seed is not the JWT's user is
    /// refused by the server; a file that is no `.creds` file at all never connects, with libnats's reason.
    @Test func aCredsFileSignsInToAnOperatorModeServer() async throws {
        let trust = OperatorTrust()
        let peer = try await NATSPeer.start(auth: .operatorMode(operatorJWT: trust.operatorJWT,
                                                                 accounts: [trust.accountPublicKey: trust.accountJWT]))
        let user = Curve25519.Signing.PrivateKey()
        let creds = try Self.privateFile(trust.creds(for: user, seed: user))
        let connection = try NATSConnection(Self.configuration(peer.url, .credentials(path: creds)))
        defer { connection.close() }
        #expect(connection.isConnected, "\(connection.lastError ?? "nil")")
        let subscription = try connection.subscribe("events.>")
        try connection.flush()
        try connection.publish("events.creds", Array("operator mode".utf8))
        var iterator = subscription.messages.makeAsyncIterator()
        #expect(await iterator.next() == BusMessage(subject: "events.creds", payload: Array("operator mode".utf8)))

        let stranger = Curve25519.Signing.PrivateKey()
        let strangerSeed = NKey.userSeed(raw: Array(stranger.rawRepresentation))
        let mismatched = try Self.privateFile(trust.creds(for: user, seed: stranger))
        let refused = try NATSConnection(Self.configuration(peer.url, .credentials(path: mismatched)))
        defer { refused.close() }
        #expect(!refused.isConnected)
        let why = try await Self.lastError(of: refused)
        #expect(why?.lowercased().contains("authorization violation") == true, "\(why ?? "nil")")
        #expect(why?.contains(strangerSeed) == false)

        // libnats parses the file on every connect: one without a seed never connects, and says why.
        let malformed = try Self.privateFile("not a creds file\n")
        let broken = try NATSConnection(Self.configuration(peer.url, .credentials(path: malformed)))
        defer { broken.close() }
        #expect(!broken.isConnected)
        let reason = try await Self.lastError(of: broken)
        #expect(reason?.contains("no nkey user seed found in '\(malformed)'") == true, "\(reason ?? "nil")")
    }

    // MARK: - Helpers

    static func configuration(_ url: String, _ identity: NATSIdentityFile) -> NATSConfiguration {
        var configuration = NATSConfiguration(urls: [url])
        configuration.identity = identity
        return configuration
    }

    /// A new user seed and a file (mode 0600) holding it.
    static func seedFile() throws -> (seed: String, path: String) {
        let seed = NKey.userSeed(raw: Array(Curve25519.Signing.PrivateKey().rawRepresentation))
        return (seed, try privateFile(seed + "\n"))
    }

    /// A temporary file holding `text`, mode 0600.
    static func privateFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nats-identity-\(UUID())").path
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown) }
        return path
    }

    /// Polls `lastError` (generous deadline: libnats retries in the background).
    static func lastError(of connection: NATSConnection) async throws -> String? {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let error = connection.lastError { return error }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }
}

/// An operator and one account for a nats-server in operator mode, and `.creds` files for its users: JWTs as
/// nats-io/jwt v2 writes them (header `ed25519-nkey`, claims signed by the issuer's Ed25519 key, base64url).
struct OperatorTrust {
    let operatorKey = Curve25519.Signing.PrivateKey()
    let accountKey = Curve25519.Signing.PrivateKey()

    /// NKey public key prefixes: operator `O`, account `A`, user `U`.
    static let (operatorPrefix, accountPrefix): (UInt8, UInt8) = (14 << 3, 0)

    var operatorPublicKey: String { Self.publicKey(operatorKey, Self.operatorPrefix) }
    var accountPublicKey: String { Self.publicKey(accountKey, Self.accountPrefix) }

    var operatorJWT: String {
        Self.jwt(issuer: operatorKey, issuerPrefix: Self.operatorPrefix, subject: operatorPublicKey,
                 nats: #"{"type":"operator","version":2}"#)
    }

    var accountJWT: String {
        Self.jwt(issuer: operatorKey, issuerPrefix: Self.operatorPrefix, subject: accountPublicKey, nats: """
            {"limits":{"subs":-1,"data":-1,"payload":-1,"imports":-1,"exports":-1,"wildcards":true,"conn":-1,"leaf":-1},\
            "default_permissions":{"pub":{},"sub":{}},"type":"account","version":2}
            """)
    }

    /// A `.creds` file: the JWT of `user` signed by the account, and the seed of `seed` (the same key for a
    /// valid file).
    func creds(for user: Curve25519.Signing.PrivateKey, seed: Curve25519.Signing.PrivateKey) -> String {
        let jwt = Self.jwt(issuer: accountKey, issuerPrefix: Self.accountPrefix,
                           subject: Self.publicKey(user, NKey.userPrefix),
                           nats: #"{"pub":{},"sub":{},"subs":-1,"data":-1,"payload":-1,"type":"user","version":2}"#)
        return """
            -----BEGIN NATS USER JWT-----
            \(jwt)
            ------END NATS USER JWT------

            -----BEGIN USER NKEY SEED-----
            \(NKey.userSeed(raw: Array(seed.rawRepresentation)))
            ------END USER NKEY SEED------

            """
    }

    static func publicKey(_ key: Curve25519.Signing.PrivateKey, _ prefix: UInt8) -> String {
        NKey.encode([prefix] + Array(key.publicKey.rawRepresentation))
    }

    static func jwt(issuer: Curve25519.Signing.PrivateKey, issuerPrefix: UInt8, subject: String, nats: String) -> String {
        let header = base64URL(Data(#"{"typ":"JWT","alg":"ed25519-nkey"}"#.utf8))
        let claims = """
            {"jti":"\(UUID().uuidString)","iat":\(Int(Date().timeIntervalSince1970)),\
            "iss":"\(publicKey(issuer, issuerPrefix))","name":"bankhub-test","sub":"\(subject)","nats":\(nats)}
            """
        let signed = header + "." + base64URL(Data(claims.utf8))
        let signature = try! issuer.signature(for: Data(signed.utf8))
        return signed + "." + base64URL(signature)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
