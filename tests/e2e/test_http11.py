"""The keep-alive HTTP/1.1 client: answers however framed, reuse only when safe, and every
failure a clear error (never another call's answer)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable

import pytest
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData

from handlers.http11 import Http11Pool, HttpError, _Answer
from handlers.transport import AiohttpRequest

Reply = Callable[[bytes], bytes | None]  # request bytes -> raw answer (None: say nothing)


class Server:
    """A raw TCP server answering each request with whatever reply() gives."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.requests: list[bytes] = []
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                answer = self.reply(head + body)
                if answer is None:
                    await asyncio.sleep(10)
                    return
                writer.write(answer)
                await writer.drain()
                head_of_answer = answer.lower().split(b"\r\n\r\n")[0]
                framed = b"content-length" in head_of_answer or b"chunked" in head_of_answer
                if b"connection: close" in head_of_answer or not framed:
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def serving(reply: Reply) -> AsyncIterator[Server]:
    server = Server(reply)
    tcp = await asyncio.start_server(server._serve, "127.0.0.1", 0)
    server.port = tcp.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        tcp.close()


def ok(body: bytes = b'{"ok":true,"result":true}', extra: str = "") -> Reply:
    return lambda _: (
        f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body
    )


async def test_calls_reuse_one_connection_and_send_json() -> None:
    async with serving(ok()) as server:
        pool = Http11Pool(4, "FieldBot")
        url = f"http://127.0.0.1:{server.port}/bot1:x/sendMessage"
        for _ in range(3):
            assert await pool.post(url, b'{"text":"\xe5\x9c\xa8"}', "application/json", 1, 1) == (
                200,
                b'{"ok":true,"result":true}',
            )
        pool.close()
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /bot1:x/sendMessage HTTP/1.1\r\n")
    assert b"Content-Type: application/json" in first and first.endswith(b'{"text":"\xe5\x9c\xa8"}')
    assert f"Host: 127.0.0.1:{server.port}".encode() in first


async def test_chunked_and_close_delimited_answers_are_read_whole() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5;ext=1\r\n{"ok"\r\n10\r\n:true,"result":1\r\n1\r\n}\r\n0\r\nX-Trailer: y\r\n\r\n'
    )
    async with serving(lambda _: chunked) as server:
        pool = Http11Pool(2, "FieldBot")
        url = f"http://127.0.0.1:{server.port}/m"
        assert await pool.post(url, b"{}", "application/json", 1, 1) == (
            200,
            b'{"ok":true,"result":1}',
        )
        assert await pool.post(url, b"{}", "application/json", 1, 1) == (
            200,
            b'{"ok":true,"result":1}',
        )
        pool.close()
    assert server.connections == 1  # a chunked answer leaves the connection usable
    until_close = b'HTTP/1.0 502 Bad Gateway\r\nContent-Type: text/plain\r\n\r\n{"ok":false}'
    async with serving(lambda _: until_close) as server:
        pool = Http11Pool(2, "FieldBot")
        url = f"http://127.0.0.1:{server.port}/m"
        for _ in range(2):
            assert await pool.post(url, b"{}", "application/json", 1, 1) == (502, b'{"ok":false}')
        pool.close()
    assert server.connections == 2  # read to the end: never reused


async def test_connection_close_is_not_reused_and_interim_answers_are_skipped() -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\n" + ok(extra="Connection: close\r\n")(b"")
    async with serving(lambda _: answer) as server:
        pool = Http11Pool(2, "FieldBot")
        url = f"http://127.0.0.1:{server.port}/m"
        for _ in range(2):
            assert (await pool.post(url, b"{}", "application/json", 1, 1))[0] == 200
        pool.close()
    assert server.connections == 2


async def test_a_slow_answer_times_out_and_its_connection_is_dropped() -> None:
    calls = 0

    def reply(_: bytes) -> bytes | None:
        nonlocal calls
        calls += 1
        return None if calls == 1 else ok()(b"")

    async with serving(reply) as server:
        pool = Http11Pool(2, "FieldBot")
        url = f"http://127.0.0.1:{server.port}/m"
        with pytest.raises(TimeoutError):
            await pool.post(url, b"{}", "application/json", 1, 0.2)
        assert (await pool.post(url, b"{}", "application/json", 1, 1))[0] == 200
        pool.close()
    assert server.connections == 2  # the timed-out connection could still get a late answer


async def test_a_cancelled_call_drops_its_connection() -> None:
    async with serving(lambda _: None) as server:
        pool = Http11Pool(2, "FieldBot")
        url = f"http://127.0.0.1:{server.port}/m"
        call = asyncio.ensure_future(pool.post(url, b"{}", "application/json", 1, 5))
        await asyncio.sleep(0.1)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert not any(pool._idle.values())
        pool.close()


async def test_broken_answers_and_closed_ports_are_errors() -> None:
    for broken in (
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc",
    ):
        async with serving(lambda _, b=broken: b) as server:
            pool = Http11Pool(2, "FieldBot")
            with pytest.raises(HttpError):
                await pool.post(f"http://127.0.0.1:{server.port}/m", b"{}", "x", 1, 1)
            pool.close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError):
            await request.do_request(f"http://127.0.0.1:{closed_port}/x", "POST", RequestData())
    finally:
        await request.shutdown()


async def test_the_transport_maps_timeouts_as_ptb_does() -> None:
    async with serving(lambda _: None) as server:
        request = AiohttpRequest(read_timeout=0.2)
        await request.initialize()
        try:
            with pytest.raises(TimedOut):
                await request.do_request(f"http://127.0.0.1:{server.port}/x", "POST", RequestData())
        finally:
            await request.shutdown()


def test_answers_split_anywhere_parse_the_same() -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    for cut in range(1, len(raw)):
        answer, buffer = _Answer(), bytearray()
        for part in (raw[:cut], raw[cut:]):
            buffer += part
            answer.feed(buffer, eof=False)
        assert answer.done and answer.status == 200 and bytes(answer.body) == b"abcde"
        assert answer.keep_alive and not buffer
