"""A client for rtpengine's NG control protocol: bencoded dictionaries over UDP, each behind a cookie.

Theory of operation
-------------------
A request is ``b"<cookie> " + bencode({"command": ..., ...})``; rtpengine answers
``b"<cookie> " + bencode({"result": "ok" | "error", ...})``. UDP may lose a datagram, so a request is
sent again (same cookie: rtpengine caches answers by cookie and does not apply a command twice)
until an answer arrives or the time-out passes. Every failure is an :class:`NgError` with a
one-line message: time-out, an ``error`` result with rtpengine's ``error-reason``, or an answer that
is not bencode.

:class:`NgClient` is asyncio-native (one datagram endpoint, futures keyed by cookie), so the SIP
service's call logic awaits media operations without blocking the SIP thread.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from typing import Any

log = logging.getLogger("centrale.telephony.ng")

__all__ = ["NgClient", "NgError", "bdecode", "bencode"]


class NgError(Exception):
    """An NG request failed (time-out, error result, unreadable answer)."""


# --- bencode -------------------------------------------------------------------------------------
def bencode(value: Any) -> bytes:
    """Encode str, bytes, int, bool, list/tuple and dict (keys sorted, as the format demands)."""
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def _encode(value: Any, out: list[bytes]) -> None:
    if isinstance(value, bool):
        value = "yes" if value else "no"
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        out.append(b"%d:%s" % (len(value), value))
    elif isinstance(value, int):
        out.append(b"i%de" % value)
    elif isinstance(value, list | tuple):
        out.append(b"l")
        for item in value:
            _encode(item, out)
        out.append(b"e")
    elif isinstance(value, dict):
        out.append(b"d")
        for key in sorted(value, key=lambda k: k.encode() if isinstance(k, str) else k):
            _encode(key, out)
            _encode(value[key], out)
        out.append(b"e")
    else:
        raise TypeError(f"cannot bencode {type(value).__name__}")


def bdecode(data: bytes) -> Any:
    """Decode bencode; byte strings become str (UTF-8, undecodable bytes replaced)."""
    value, end = _decode(data, 0)
    if end != len(data):
        raise ValueError(f"trailing data at offset {end}")
    return value


def _decode(data: bytes, i: int) -> tuple[Any, int]:
    if i >= len(data):
        raise ValueError("truncated")
    c = data[i : i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1 : end]), end + 1
    if c == b"l":
        items: list[Any] = []
        i += 1
        while data[i : i + 1] != b"e":
            item, i = _decode(data, i)
            items.append(item)
        return items, i + 1
    if c == b"d":
        result: dict[str, Any] = {}
        i += 1
        while data[i : i + 1] != b"e":
            key, i = _decode(data, i)
            result[str(key)], i = _decode(data, i)
        return result, i + 1
    if c.isdigit():
        colon = data.index(b":", i)
        length = int(data[i:colon])
        start = colon + 1
        if start + length > len(data):
            raise ValueError("truncated string")
        return data[start : start + length].decode("utf-8", "replace"), start + length
    raise ValueError(f"unexpected byte {c!r} at offset {i}")


# --- the client ----------------------------------------------------------------------------------
class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, client: NgClient) -> None:
        self.client = client

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.client._received(data)

    def error_received(self, exc: Exception) -> None:  # ICMP unreachable: rtpengine not running
        log.debug("NG socket error: %s", exc)


class NgClient:
    """Talks to one rtpengine over NG. Create with :meth:`connect`; close with :meth:`close`."""

    def __init__(self, host: str, port: int, *, timeout: float = 3.0, retries: int = 3) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self.retries = retries
        self._transport: asyncio.DatagramTransport | None = None
        self._waiting: dict[bytes, asyncio.Future[dict[str, Any]]] = {}
        self._prefix = os.urandom(4).hex()
        self._seq = itertools.count(1)

    async def connect(self) -> NgClient:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), remote_addr=self.address)
        self._transport = transport
        return self

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(NgError("the NG client was closed"))
        self._waiting.clear()

    def _received(self, data: bytes) -> None:
        cookie, _, payload = data.partition(b" ")
        future = self._waiting.get(cookie)
        if future is None or future.done():
            return
        try:
            answer = bdecode(payload)
        except (ValueError, IndexError) as exc:
            future.set_exception(NgError(f"unreadable NG answer from {self._where}: {exc}"))
            return
        if not isinstance(answer, dict):
            future.set_exception(NgError(f"NG answer from {self._where} is not a dictionary"))
            return
        future.set_result(answer)

    @property
    def _where(self) -> str:
        return f"rtpengine {self.address[0]}:{self.address[1]}"

    async def request(self, command: str, **params: Any) -> dict[str, Any]:
        """Send one command; return rtpengine's answer when ``result`` is ``ok`` (or ``pong``)."""
        if self._transport is None:
            raise NgError("the NG client is not connected")
        cookie = f"{self._prefix}_{next(self._seq)}".encode()
        message = {"command": command, **{k.replace("_", "-"): v for k, v in params.items()}}
        data = cookie + b" " + bencode(message)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[cookie] = future
        try:
            for _ in range(self.retries):
                self._transport.sendto(data)
                try:
                    answer = await asyncio.wait_for(asyncio.shield(future), self.timeout / self.retries)
                    break
                except TimeoutError:
                    continue
            else:
                raise NgError(f"{self._where} did not answer {command!r} within {self.timeout:g} s")
        finally:
            self._waiting.pop(cookie, None)
            if not future.done():
                future.cancel()
        result = answer.get("result")
        if result not in ("ok", "pong"):
            reason = answer.get("error-reason") or answer.get("warning") or result
            raise NgError(f"{self._where} refused {command!r}: {reason}")
        return answer

    # --- the commands the SIP service uses ----------------------------------------------------------
    async def ping(self) -> None:
        await self.request("ping")

    async def offer(self, call_id: str, from_tag: str, sdp: str, **flags: Any) -> str:
        answer = await self.request("offer", call_id=call_id, from_tag=from_tag, sdp=sdp, **flags)
        return str(answer["sdp"])

    async def answer(self, call_id: str, from_tag: str, to_tag: str, sdp: str, **flags: Any) -> str:
        answer = await self.request(
            "answer", call_id=call_id, from_tag=from_tag, to_tag=to_tag, sdp=sdp, **flags
        )
        return str(answer["sdp"])

    async def delete(self, call_id: str) -> None:
        await self.request("delete", call_id=call_id)

    async def play_media(self, call_id: str, from_tag: str, file: str, repeat_times: int = 1000) -> None:
        await self.request(
            "play media", call_id=call_id, from_tag=from_tag, file=file, repeat_times=repeat_times
        )

    async def stop_media(self, call_id: str, from_tag: str) -> None:
        await self.request("stop media", call_id=call_id, from_tag=from_tag)

    async def start_recording(self, call_id: str) -> None:
        await self.request("start recording", call_id=call_id)

    async def stop_recording(self, call_id: str) -> None:
        await self.request("stop recording", call_id=call_id)

    async def query(self, call_id: str) -> dict[str, Any]:
        return await self.request("query", call_id=call_id)
