"""A webhook receiver for tests: a real HTTP/1.1 server on loopback that records each
request it gets and answers with the statuses it is told to."""

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from http import HTTPStatus


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request, as it arrived."""

    method: str
    path: str
    headers: dict[str, str]
    """By lower-case name."""
    body: bytes


class WebhookReceiver:
    """Answers the n-th request with the n-th of ``statuses``, then 200; with
    ``answers=False`` it reads each request and never answers."""

    def __init__(self, statuses: Iterable[int] = (), *, answers: bool = True) -> None:
        self.url = ""
        self.deliveries: list[Delivery] = []
        self._statuses = list(statuses)
        self._answers = answers
        self._arrivals: asyncio.Queue[Delivery] = asyncio.Queue()
        self._connections: set[asyncio.StreamWriter] = set()

    async def next_delivery(self, timeout_seconds: float = 5.0) -> Delivery:
        """The next request to arrive (or one that already did and was not taken)."""
        return await asyncio.wait_for(self._arrivals.get(), timeout_seconds)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            delivery = await _read_request(reader)
            self.deliveries.append(delivery)
            self._arrivals.put_nowait(delivery)
            if not self._answers:
                await reader.read()  # until the sender gives up and hangs up
                return
            writer.write(_response(self._statuses.pop(0) if self._statuses else 200))
            await writer.drain()
        finally:
            self._connections.discard(writer)
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()

    def hang_up(self) -> None:
        for writer in self._connections:
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> Delivery:
    method, path, _ = (await reader.readline()).decode("ascii").split(" ", 2)
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, value = line.decode("latin-1").split(":", 1)
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Delivery(method, path, headers, body)


def _response(status: int) -> bytes:
    head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "content-length: 0"]
    if 300 <= status < 400:
        head.append("location: /redirected")
    head.append("connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii")


@asynccontextmanager
async def running_receiver(
    statuses: Iterable[int] = (), *, answers: bool = True
) -> AsyncIterator[WebhookReceiver]:
    """A receiver listening on a free loopback port, at ``receiver.url``."""
    receiver = WebhookReceiver(statuses, answers=answers)
    server = await asyncio.start_server(receiver.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    receiver.url = f"http://127.0.0.1:{port}/webhooks"
    try:
        yield receiver
    finally:
        server.close()
        receiver.hang_up()
        await server.wait_closed()
