"""The files v2 flow: getUploadURLExternal, then the bytes to the upload URL, then completeUploadExternal."""

from __future__ import annotations

import copy
import time
from typing import Any

from tests.support.fake_slack.blocks import invalid_arguments
from tests.support.fake_slack.constants import (
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
)
from tests.support.fake_slack.methods.chat import bot_message
from tests.support.fake_slack.params import int_param, required, user_list
from tests.support.fake_slack.records import SlackError, UploadedFile
from tests.support.fake_slack.registry import api_method
from tests.support.fake_slack.state import PendingFile, Workspace


@api_method("files.upload")
def _files_upload(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    raise SlackError("method_deprecated")  # retired by Slack: use the files v2 flow


@api_method("files.getUploadURLExternal")
def _files_get_upload_url(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    filename = str(required(params, "filename"))
    length = int_param(params, "length", -1)
    if length < 0:
        raise invalid_arguments("missing required field: length")
    file_id = ws.new_id("F")
    ws.files[file_id] = PendingFile(file_id, filename, length)
    return {"upload_url": f"{ws.upload_root}{file_id}", "file_id": file_id}


def _file_object(ws: Workspace, pending: PendingFile, title: str, channel_id: str | None) -> dict[str, Any]:
    return {
        "id": pending.file_id,
        "created": int(time.time()),
        "timestamp": int(time.time()),
        "name": pending.filename,
        "title": title,
        "mimetype": "text/plain",
        "filetype": "text",
        "user": BOT_USER_ID,
        "size": len(pending.content or b""),
        "is_external": False,
        "url_private": f"https://files.slack.com/files-pri/{TEAM_ID}-{pending.file_id}/{pending.filename}",
        "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{BOT_USER_ID}/{pending.file_id}/{pending.filename}",
        "channels": [channel_id] if channel_id else [],
    }


@api_method("files.completeUploadExternal")
def _files_complete_upload(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Share uploaded files; a file whose bytes were never POSTed answers `file_not_found`."""
    entries = required(params, "files")
    if not isinstance(entries, list) or not entries:
        raise invalid_arguments("files must be a JSON array of {id, title}")
    target = params.get("channel_id") or next(iter(user_list(params.get("channels"))), None)
    channel = ws.bot_channel({"channel": target}, writing=False) if target else None
    if channel is not None and channel.is_archived:
        # files.completeUploadExternal documents no is_archived: "posting_to_channel_denied: User is not
        # authorized to post to channel" is its code for a channel nobody may post in.
        raise SlackError("posting_to_channel_denied")
    pendings = [ws.files.get(str(entry.get("id"))) for entry in entries]
    if any(p is None or p.content is None for p in pendings):
        raise SlackError("file_not_found")
    comment, thread_ts = params.get("initial_comment"), params.get("thread_ts") or None
    objects = []
    for entry, pending in zip(entries, pendings, strict=True):
        assert pending is not None and pending.content is not None
        title = str(entry.get("title") or pending.filename)
        objects.append(_file_object(ws, pending, title, channel.id if channel else None))
        ws.uploaded.append(
            UploadedFile(
                pending.file_id,
                pending.filename,
                title,
                pending.content,
                channel.id if channel else None,
                comment,
                thread_ts,
            )
        )
    if channel is not None:
        message = bot_message(ws, {"text": comment or ""}, ws.next_ts())
        message.update(files=copy.deepcopy(objects), upload=True)
        ws.attach_to_thread(channel, message, thread_ts)
        channel.messages.append(message)
    return {"files": objects}
