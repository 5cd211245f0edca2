import Testing
@testable import WebSocketTransport

/// The mailbox between the service thread and the application: what arrives while the consumer is busy is
/// handed over as one batch, in order; an idle consumer gets each event at once; finish ends it after the rest.
struct EventMailboxTests {
    private func ids(_ batch: [TransportEvent]?) -> [ConnectionID] {
        (batch ?? []).map { event in
            switch event {
            case .opened(let id, _), .message(let id, _), .binaryMessage(let id, _), .closed(let id): id
            }
        }
    }

    @Test func eventsPostedWhileTheConsumerIsBusyArriveAsOneBatchInOrder() async {
        let mailbox = EventMailbox()
        for id in 1...5 { mailbox.post(.message(ConnectionID(id), [])) }
        #expect(ids(await mailbox.next()) == [1, 2, 3, 4, 5])
        mailbox.post(.closed(6))
        #expect(ids(await mailbox.next()) == [6])
    }

    @Test func aWaitingConsumerIsWokenByThePost() async {
        let mailbox = EventMailbox()
        async let batch = mailbox.next()
        // Give the consumer time to wait (if it has not, the post is simply queued and taken the same way).
        try? await Task.sleep(for: .milliseconds(20))
        mailbox.post(.message(7, Array("x".utf8)))
        #expect(ids(await batch) == [7])
    }

    @Test func finishHandsOverWhatIsQueuedThenEnds() async {
        let mailbox = EventMailbox()
        mailbox.post(.closed(1))
        mailbox.finish()
        mailbox.post(.closed(2))
        #expect(ids(await mailbox.next()) == [1])
        #expect(await mailbox.next() == nil)
    }
}
