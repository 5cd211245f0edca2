"""The client: one WebSocket to a hub, request/reply by id, and event streams that survive reconnects.

One reader task owns the socket's receive side. Replies settle the future of their request id; events go to the
queue of each subscription of their stream, after dropping any seq at or below the last one delivered there. When
the socket closes unexpectedly, calls in flight fail with `disconnected`, and a reconnect loop opens a new socket,
sends `auth` with the token from the last `login`/`auth`, and resubscribes every stream from its last seq.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import random
from typing import Any, AsyncIterator, Optional

import websockets

PROTOCOL = "bankhub.v1"


class Error(Exception):
    """A refused request: `code` is the hub's stable error code (docs/protocol.md), or one of the client's own
    `disconnected` (the connection dropped before the reply), `timeout` and `closed`."""

    def __init__(self, code: str, message: str = "", data: Optional[dict] = None):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.data = data or {}


class _Subscription:
    def __init__(self, stream: str, since: Optional[int]):
        self.stream = stream
        self.last_seq = since  # None until the first reply tells us where live events start
        self.queue: asyncio.Queue = asyncio.Queue()
        self.active = True

    def offer(self, event: dict) -> None:
        seq = event.get("seq")
        if not isinstance(seq, int):
            return
        if self.last_seq is not None and seq <= self.last_seq:
            return  # already delivered (replay overlap after a reconnect)
        self.last_seq = seq
        self.queue.put_nowait(event)


class Hub:
    """A connection to a hub. Use `async with bankhub.connect(url) as hub:`."""

    def __init__(self, url: str, *, backoff_initial: float = 0.25, backoff_max: float = 10.0,
                 open_timeout: float = 10.0):
        self.url = url
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.open_timeout = open_timeout
        self.token: Optional[str] = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._subscriptions: dict[str, list[_Subscription]] = {}
        self._ws = None
        self._connected = asyncio.Event()
        self._closed = False
        self._reader: Optional[asyncio.Task] = None

    # -- lifecycle --------------------------------------------------------------------------------

    async def open(self) -> "Hub":
        self._ws = await websockets.connect(self.url, subprotocols=[PROTOCOL], open_timeout=self.open_timeout,
                                            max_size=1 << 20)
        self._connected.set()
        self._reader = asyncio.create_task(self._run())
        return self

    async def close(self) -> None:
        self._closed = True
        if self._reader:
            self._reader.cancel()
        if self._ws is not None:
            await self._ws.close()
        self._fail_pending("closed", "the client was closed")
        for subs in self._subscriptions.values():
            for sub in subs:
                sub.queue.put_nowait(Error("closed", "the client was closed"))

    async def __aenter__(self) -> "Hub":
        return await self.open()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # -- requests ---------------------------------------------------------------------------------

    async def call(self, op: str, args: Optional[dict] = None, *, timeout: float = 15.0) -> dict:
        """Sends one request and returns its `result`, or raises `Error`."""
        rid = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
            self._pending[rid] = future
            await self._ws.send(json.dumps({"id": rid, "op": op, "args": args or {}}))
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise Error("timeout", f"no reply to {op} within {timeout} s") from None
        except websockets.ConnectionClosed:
            raise Error("disconnected", f"the connection dropped before {op} was answered") from None
        finally:
            self._pending.pop(rid, None)

    async def login(self, username: str, password: str, totp: Optional[str] = None) -> dict:
        args = {"username": username, "password": password}
        if totp:
            args["totp"] = totp
        result = await self.call("login", args)
        self.token = result["token"]
        return result

    async def auth(self, token: str) -> dict:
        result = await self.call("auth", {"token": token})
        self.token = token
        return result

    # -- streams ----------------------------------------------------------------------------------

    async def subscribe(self, stream: str, since: Optional[int] = None) -> AsyncIterator[dict]:
        """Yields the stream's events in seq order, each once, across reconnects. With `since`, replays the
        events after it first; without, starts at the stream's head."""
        sub = _Subscription(stream, since)
        first = stream not in self._subscriptions
        self._subscriptions.setdefault(stream, []).append(sub)
        try:
            if first:
                await self._subscribe_on_hub(stream, since)
            elif sub.last_seq is None:
                sub.last_seq = self._stream_position(stream)
            while True:
                item = await sub.queue.get()
                if isinstance(item, Error):
                    raise item
                yield item
        finally:
            sub.active = False
            subs = self._subscriptions.get(stream, [])
            if sub in subs:
                subs.remove(sub)
            if not subs:
                self._subscriptions.pop(stream, None)
                if not self._closed and self._connected.is_set():
                    try:
                        await self.call("unsubscribe", {"stream": stream}, timeout=5)
                    except Error:
                        pass

    def _stream_position(self, stream: str) -> Optional[int]:
        seqs = [s.last_seq for s in self._subscriptions.get(stream, []) if s.last_seq is not None]
        return max(seqs) if seqs else None

    async def _subscribe_on_hub(self, stream: str, since: Optional[int]) -> None:
        args: dict[str, Any] = {"stream": stream}
        if since is not None:
            args["since"] = since
        result = await self.call("subscribe", args)
        head = result.get("head")
        for sub in self._subscriptions.get(stream, []):
            if sub.last_seq is None and isinstance(head, int):
                sub.last_seq = head  # live events start after the head

    # -- the reader and the reconnect loop --------------------------------------------------------

    async def _run(self) -> None:
        while not self._closed:
            try:
                async for raw in self._ws:
                    self._dispatch(raw)
            except websockets.ConnectionClosed:
                pass
            if self._closed:
                return
            self._connected.clear()
            self._fail_pending("disconnected", "the connection dropped")
            await self._reconnect()

    def _dispatch(self, raw) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if "event" in message:
            for sub in list(self._subscriptions.get(message.get("stream"), [])):
                sub.offer(message)
            return
        future = self._pending.get(message.get("id"))
        if future is None or future.done():
            return
        if message.get("ok"):
            future.set_result(message.get("result") or {})
        else:
            error = dict(message.get("error") or {})
            future.set_exception(Error(error.pop("code", "internal"), error.pop("message", ""), error))

    def _fail_pending(self, code: str, message: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(Error(code, message))
        self._pending.clear()

    async def _reconnect(self) -> None:
        attempt = 0
        while not self._closed:
            cap = min(self.backoff_max, self.backoff_initial * (2 ** attempt))
            await asyncio.sleep(random.uniform(0, cap))
            attempt += 1
            try:
                self._ws = await websockets.connect(self.url, subprotocols=[PROTOCOL],
                                                    open_timeout=self.open_timeout, max_size=1 << 20)
            except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake):
                continue
            # Restore the session and the streams on the new socket before anyone else may call.
            reader = asyncio.create_task(self._read_while_restoring())
            try:
                await self._restore()
            except (Error, websockets.ConnectionClosed, OSError):
                await _stop(reader)
                await self._ws.close()
                continue
            await _stop(reader)  # the main loop reads from here on; one reader at a time
            self._connected.set()
            return

    async def _read_while_restoring(self) -> None:
        async for raw in self._ws:
            self._dispatch(raw)

    async def _restore(self) -> None:
        async def call(op: str, args: dict) -> dict:
            rid = next(self._ids)
            future = asyncio.get_running_loop().create_future()
            self._pending[rid] = future
            try:
                await self._ws.send(json.dumps({"id": rid, "op": op, "args": args}))
                return await asyncio.wait_for(future, 15)
            finally:
                self._pending.pop(rid, None)

        if self.token:
            await call("auth", {"token": self.token})
        for stream in list(self._subscriptions):
            since = self._stream_position(stream)
            args: dict[str, Any] = {"stream": stream}
            if since is not None:
                args["since"] = since
            try:
                await call("subscribe", args)
            except Error as error:
                if error.code != "resync_required":
                    raise
                for sub in self._subscriptions.get(stream, []):
                    sub.queue.put_nowait(error)


async def _stop(task: asyncio.Task) -> None:
    task.cancel()
    try:
        await task
    except (asyncio.CancelledError, websockets.ConnectionClosed):
        pass


def connect(url: str, **options) -> Hub:
    """`async with bankhub.connect("ws://127.0.0.1:8080/ws") as hub:` opens one connection."""
    return Hub(url, **options)
