"""A small HTTP/1.1 keep-alive client on asyncio streams, light enough to drive the server from one core.

A general client (httpx, aiohttp) spends more processor time per request than the server's own
framework does; on a two-core machine that would measure the client. This one writes a request
and reads one Content-Length response, which is all the recording API answers with.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass


class ConnectionLost(Exception):
    """The server closed the connection or could not be reached; the request may or may not have landed."""


@dataclass(frozen=True)
class Response:
    """One answer: status, lower-cased headers and body."""

    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One keep-alive connection to a server on the loopback interface."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b"", timeout: float = 30.0
    ) -> Response:
        """Send one request and read its answer; ConnectionLost if the connection fails on the way."""
        try:
            return await asyncio.wait_for(self._exchange(method, path, headers, body), timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            await self.close()
            raise ConnectionLost(type(exc).__name__) from exc

    async def _exchange(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        reader, writer = self._reader, self._writer
        if reader is None or writer is None:
            reader, writer = self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        status_line = await reader.readline()
        if not status_line:
            raise asyncio.IncompleteReadError(b"", None)
        status = int(status_line.split(b" ", 2)[1])
        answer: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            answer[name.strip().lower()] = value.strip()
        if "content-length" not in answer:
            raise ValueError("an answer without Content-Length")
        data = await reader.readexactly(int(answer["content-length"]))
        if answer.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, answer, data)

    async def close(self) -> None:
        """Close the connection; the next request opens a new one."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
