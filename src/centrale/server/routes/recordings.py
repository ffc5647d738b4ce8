"""Call recordings: the stereo WAV of a recorded call (left customer, right agent; docs/telephony.md)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from centrale.server.deps import check_account, need, services
from centrale.server.errors import ApiError
from centrale.server.security import Permission, Principal
from centrale.storage.schema import recordings

router = APIRouter(prefix="/api/interactions", tags=["interactions"])


@router.get(
    "/{interaction}/recording",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}}},
)
async def recording(
    interaction: str, request: Request, who: Principal = Depends(need(Permission.RECORDINGS_READ))
) -> FileResponse:
    """The call's recording as a WAV (8 kHz, 16 bit, two channels: left customer, right agent)."""
    with services(request).store.sql.connect() as conn:
        row = conn.execute(
            sa.select(recordings.c.account, recordings.c.path).where(recordings.c.interaction == interaction)
        ).first()
    if row is None:
        raise ApiError(404, "recording.unknown", f"no recording of interaction {interaction!r}")
    check_account(who, row.account)
    path = Path(row.path)
    if not path.is_file():
        raise ApiError(404, "recording.unknown", f"the recording of {interaction!r} is no longer stored")
    return FileResponse(path, media_type="audio/wav", filename=f"{path.stem}.wav")
