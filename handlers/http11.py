"""A small keep-alive HTTP/1.1 client for the Bot API's JSON calls.

A Bot API call is one POST with a JSON body and one JSON answer. aiohttp's client does a great
deal per request that such a call never needs (URL parsing, header multidicts, cookie jars,
tracing hooks, a writer task, timeout handles); on a small machine that is most of the bot's
cost of a call. Here a request is one write of the request line, headers and body on a pooled
connection, and the answer is parsed as it arrives (Content-Length, chunked, or until close).

Uploads (multipart) stay with aiohttp (handlers/transport.py). A connection is reused only
after a complete answer that did not ask to close it; one that timed out, failed or was
cancelled mid-call is closed, so a late answer can never be read as another call's.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from urllib.parse import urlsplit

MAX_HEAD = 64 * 1024  # bytes of status line and headers accepted
_NO_BODY = (204, 304)


class HttpError(Exception):
    """The connection failed or the server's answer could not be read."""


class _Answer:
    """Incremental parse of one HTTP/1.1 response."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.keep_alive = True
        self.length: int | None = None  # Content-Length, when given
        self.chunked = False
        self.head_done = False
        self.body = bytearray()
        self.done = False
        self._chunk_left = -1  # bytes left in the current chunk; -1: a size line is next
        self._in_trailers = False

    def feed(self, buffer: bytearray, eof: bool) -> None:
        """Consume what it can of buffer; sets done when the answer is complete."""
        while not self.done:
            if not self.head_done:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > MAX_HEAD:
                        raise HttpError("response head too long")
                    return
                self._head(bytes(buffer[:end]))
                del buffer[: end + 4]
                if 100 <= self.status < 200:  # an interim answer: the real one follows
                    self._reset()
                    continue
                if self.status in _NO_BODY or self.length == 0:
                    self.done = True
                    return
                continue
            if self.chunked:
                if not self._chunks(buffer):
                    return
                continue
            if self.length is not None:
                take = min(len(buffer), self.length - len(self.body))
                self.body += buffer[:take]
                del buffer[:take]
                if len(self.body) == self.length:
                    self.done = True
                return
            # Neither length nor chunks: the body runs to the end of the connection.
            self.body += buffer
            del buffer[:]
            self.keep_alive = False
            if eof:
                self.done = True
            return

    def _head(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise HttpError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        self.status = int(code)
        self.head_done = True
        self.keep_alive = version == "HTTP/1.1"
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                if not value.isdigit():
                    raise HttpError(f"bad Content-Length {value[:40]!r}")
                self.length = int(value)
            elif name == "transfer-encoding":
                self.chunked = value.lower().endswith("chunked")
            elif name == "connection":
                tokens = {token.strip().lower() for token in value.split(",")}
                if "close" in tokens:
                    self.keep_alive = False
                elif "keep-alive" in tokens:
                    self.keep_alive = True
        if self.chunked:
            self.length = None

    def _chunks(self, buffer: bytearray) -> bool:
        """Consume chunked body; False when more bytes are needed."""
        if self._in_trailers:
            end = buffer.find(b"\r\n")
            if end < 0:
                return False
            del buffer[: end + 2]
            if end == 0:
                self.done = True
            return True
        if self._chunk_left < 0:
            end = buffer.find(b"\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    raise HttpError("chunk size line too long")
                return False
            size = bytes(buffer[:end]).split(b";", 1)[0].strip()
            try:
                self._chunk_left = int(size, 16)
            except ValueError:
                raise HttpError(f"bad chunk size {size[:20]!r}") from None
            del buffer[: end + 2]
            if self._chunk_left == 0:
                self._in_trailers = True
            return True
        if len(buffer) < self._chunk_left + 2:
            return False
        self.body += buffer[: self._chunk_left]
        if buffer[self._chunk_left : self._chunk_left + 2] != b"\r\n":
            raise HttpError("chunk not followed by CRLF")
        del buffer[: self._chunk_left + 2]
        self._chunk_left = -1
        return True


class _Connection(asyncio.Protocol):
    """One connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.usable = False
        self._buffer = bytearray()
        self._answer: _Answer | None = None
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.usable = True

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # nothing asked: a stray byte makes the connection suspect
            self.close()
            return
        self._buffer += data
        self._progress(eof=False)

    def eof_received(self) -> bool:
        self.usable = False
        if self._waiter is not None:
            self._progress(eof=True)
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = False
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            answer = self._answer
            if answer is not None and not answer.done and answer.head_done:
                try:
                    answer.feed(self._buffer, eof=True)
                except HttpError as err:
                    waiter.set_exception(err)
                    return
                if answer.done:
                    waiter.set_result((answer.status, bytes(answer.body)))
                    return
            waiter.set_exception(HttpError(f"connection closed: {exc or 'by the server'}"))

    def _progress(self, eof: bool) -> None:
        waiter, answer = self._waiter, self._answer
        if waiter is None or answer is None or waiter.done():
            return
        try:
            answer.feed(self._buffer, eof)
        except HttpError as err:
            self.close()
            waiter.set_exception(err)
            return
        if answer.done:
            if not answer.keep_alive or self._buffer:
                self.usable = False
            waiter.set_result((answer.status, bytes(answer.body)))

    async def exchange(self, request: bytes, timeout: float | None) -> tuple[int, bytes]:
        """Send one request and wait for its whole answer."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self._answer = _Answer()
        self._waiter = waiter = loop.create_future()
        self.transport.write(request)
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        finally:
            self._waiter = self._answer = None

    @property
    def reusable(self) -> bool:
        """Open, and nothing unasked for has arrived."""
        transport = self.transport
        return (
            self.usable
            and not self._buffer
            and transport is not None
            and not transport.is_closing()
        )

    def close(self) -> None:
        self.usable = False
        if self.transport is not None:
            self.transport.close()


class Http11Pool:
    """Keep-alive connections per origin, at most `size` at a time."""

    def __init__(self, size: int, user_agent: str) -> None:
        self._size = size
        self._user_agent = user_agent
        self._slots = asyncio.Semaphore(size)
        self._idle: dict[tuple[str, str, int], deque[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None
        self.closed = False

    async def post(
        self,
        url: str,
        body: bytes,
        content_type: str,
        connect_timeout: float | None,
        read_timeout: float | None,
    ) -> tuple[int, bytes]:
        """POST body to url; the status code and the raw answer.

        Raises HttpError for a failed connection or an unreadable answer, TimeoutError when
        connecting or the answer takes too long.
        """
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise HttpError(f"unsupported URL {url[:80]!r}")
        secure = scheme == "https"
        host = parts.hostname
        port = parts.port or (443 if secure else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = (
            f"POST {target} HTTP/1.1\r\nHost: {parts.netloc.rpartition('@')[2]}\r\n"
            f"User-Agent: {self._user_agent}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        request = head.encode("latin-1") + body
        origin = (scheme, host, port)
        async with self._slots:
            connection = await self._connection(origin, secure, connect_timeout)
            done = False
            try:
                answer = await connection.exchange(request, read_timeout)
                done = True
                return answer
            finally:
                if done and connection.reusable and not self.closed:
                    self._idle.setdefault(origin, deque()).append(connection)
                else:
                    connection.close()  # never reused after a failure, timeout or cancel

    async def _connection(
        self, origin: tuple[str, str, int], secure: bool, connect_timeout: float | None
    ) -> _Connection:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if connection.reusable:
                return connection
            connection.close()
        if self.closed:
            raise HttpError("the pool is closed")
        loop = asyncio.get_running_loop()
        context = None
        if secure:
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        try:
            async with asyncio.timeout(connect_timeout):
                _, connection = await loop.create_connection(
                    _Connection,
                    origin[1],
                    origin[2],
                    ssl=context,
                    server_hostname=origin[1] if secure else None,
                )
        except OSError as err:
            raise HttpError(f"cannot connect to {origin[1]}:{origin[2]}: {err}") from err
        return connection

    def close(self) -> None:
        """Close every idle connection; calls in flight close theirs when they end."""
        self.closed = True
        for idle in self._idle.values():
            while idle:
                idle.pop().close()
        self._idle.clear()
