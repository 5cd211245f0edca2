import CLibWebSockets
import Foundation
import Synchronization

/// The service thread: creates the context, runs `lws_service`, drives shutdown, destroys the context.
extension ServerCore {
    /// The outcome `start()` waits for.
    enum StartOutcome: Sendable {
        case listening(port: Int)
        case failed(WebSocketServerError)
    }

    /// Runs on the service thread until shutdown; reports the start outcome through `report`.
    func runServiceThread(resources: LwsResources, report: @Sendable (StartOutcome) -> Void) {
        serviceState.adoptCurrentThread()
        let libevLoop = makeLibevLoop()
        let useLibev = libevLoop != nil
        defer { if let libevLoop { bankhub_ev_loop_destroy(libevLoop) } }
        let owner = Unmanaged.passUnretained(self).toOpaque()
        resources.timer.pointee.owner = owner
        serviceState.timer = resources.timer
        serviceState.libevLoop = libevLoop
        var info = resources.creationInfo(configuration: configuration, user: owner, libevLoop: libevLoop)
        lws_set_log_level(LLL_ERR | LLL_WARN, nil)
        let listener: TransportListener
        do { listener = try openTransportListener() } catch {
            report(.failed(error))
            mailbox.finish()
            return
        }
        guard let context = lws_create_context(&info) else {
            report(.failed(creationError()))
            mailbox.finish()
            return
        }
        let port: Int
        do { port = try listeningPort(context, listener: consume listener) } catch {
            lws_context_destroy(context)
            report(.failed(error))
            mailbox.finish()
            return
        }
        serviceState.context = context
        contextHandle.withLock { $0 = ContextHandle(pointer: context) }
        armTimer()
        configuration.log("listening on \(configuration.host):\(port) (\(useLibev ? "libev" : "poll") loop)")
        report(.listening(port: port))
        while !serviceState.loopExitRequested {
            if lws_service(context, 0) < 0 && !serviceState.loopExitRequested {
                configuration.log("lws_service failed; stopping")
                break
            }
        }
        contextHandle.withLock { $0 = nil }
        serviceState.context = nil
        lws_context_destroy(context)
        outbound.withLock { $0.queues.removeAll() }
        mailbox.finish()
        withExtendedLifetime(resources) {}
    }

    /// A fresh libev loop if asked for and lws's libev plugin loads; nil means the poll loop
    /// (with a log line saying why).
    private func makeLibevLoop() -> UnsafeMutableRawPointer? {
        guard configuration.eventLoop == .libev else { return nil }
        guard bankhub_lws_plugin_loadable("libwebsockets-evlib_ev.so") != 0, let loop = bankhub_ev_loop_new() else {
            let directory = String(cString: bankhub_lws_plugin_dir)
            configuration.log("libev plugin not loadable from \(directory) "
                              + "(install libwebsockets-evlib-ev); falling back to the poll loop")
            return nil
        }
        return loop
    }

    /// The port connections arrive on, once lws adopted the listening socket.
    private func listeningPort(_ context: OpaquePointer,
                               listener: consuming TransportListener) throws(WebSocketServerError) -> Int {
        let vhost = lws_get_vhost_by_name(context, "default")
        let port = listener.port
        guard let vhost else { throw WebSocketServerError(.contextCreationFailed, "libwebsockets made no vhost") }
        try listener.handOver(to: vhost)
        return port
    }

    /// lws says only "failed" (the port is already ours by then, so it is not the address).
    private func creationError() -> WebSocketServerError {
        let address = "\(configuration.host):\(configuration.port)"
        return WebSocketServerError(.contextCreationFailed,
                                    "libwebsockets could not create a context for \(address) (see its log)")
    }

    /// Shutdown, step by step, each time the service thread wakes: close all with 1001, then end the
    /// loop once every connection is gone or the grace period is over.
    func advanceShutdown() {
        serviceState.assertOnServiceThread()
        guard !serviceState.loopExitRequested, outbound.withLock({ $0.shutdownRequested }) else { return }
        let now = ContinuousClock.now
        if serviceState.shutdownDeadline == nil {
            serviceState.shutdownDeadline = now + .seconds(configuration.shutdownGraceSeconds)
            let request = CloseRequest(code: TransportCloseCode.goingAway, reason: "server shutting down")
            outbound.withLock { state in
                state.acceptingStopped = true
                for id in state.queues.keys { _ = state.requestClose(request, for: id) }
                state.writableRequests = []
                state.closeRequests = []
            }
            for (id, record) in serviceState.records {
                startCloseDeadline(id, wsi: record.wsi)
                lws_callback_on_writable(record.wsi)
            }
        }
        guard serviceState.records.isEmpty || now >= serviceState.shutdownDeadline! else { return }
        serviceState.loopExitRequested = true
        // With libev, lws_service is ev_run and returns only when the loop is broken. The poll loop's
        // lws_service returns after each pass, but when this runs in the timer (the last close arrived after
        // the cancel that started shutdown), the timer is not re-armed and poll would sleep up to 30 s: a
        // cancel ends that wait at once.
        if let libevLoop = serviceState.libevLoop {
            bankhub_ev_break_all(libevLoop)
        } else if let context = serviceState.context {
            lws_cancel_service(context)
        }
    }
}
