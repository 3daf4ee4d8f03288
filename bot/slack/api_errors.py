"""What each error Slack's Web API can answer means for the bot: one table, one classifier.

Every error code Slack documents for the methods the bot calls (the method reference pages on
docs.slack.dev, as collected by slack-ruby/slack-api-ref, MIT; copied into
``tests/support/slack_methods.json``, which a test checks this table against) falls in one of four
classes:

* ``USER``: one person's problem (that user cannot be invited, their modal trigger expired...).
  Only that person is left out; they or the caller are told why.
* ``CHANNEL``: the conversation's problem (archived, gone, the bot is not in it, a read-only
  channel...). The call can never succeed as asked: the outbox item is kept as dead.
* ``TEMPORARY``: Slack is busy or degraded (429 and ``Retry-After``, 5xx, migrations). Retried
  with backoff by the outbox.
* ``SETUP``: the installation or the bot is wrong (a missing scope, a revoked token, a workspace
  policy, a request Slack refuses as malformed). Dead item, logged once with the fix.

A code the calling code expects (``already_in_channel``, ``already_pinned``, ``name_taken``,
``message_not_found`` on ``chat.update``...) is answered there before it is classified; it still
has its class here. Answers that are not Slack JSON at all (a proxy's HTML 502, a wrong
``SLACK_API_URL``) are ``TEMPORARY`` with a reason naming the HTTP status and what came back
(the outbox retries them for as long as they last); at start-up, ``auth.test`` answering a web page
with HTTP 200 or a 404 stops the bot instead (``bot.slack.identity``). ``BY_METHOD`` holds the
method-specific meanings of generic codes, ``WHEN_EVERYONE_REFUSED`` the per-user invitation codes
that mean the token or the channel when everyone invited gets them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.outbox.worker import retry_after_seconds


class ErrorClass(StrEnum):
    USER = "user"
    CHANNEL = "channel"
    TEMPORARY = "temporary"
    SETUP = "setup"


U, C, T, S = ErrorClass.USER, ErrorClass.CHANNEL, ErrorClass.TEMPORARY, ErrorClass.SETUP

REINSTALL = "check SLACK_BOT_TOKEN (OAuth & Permissions) and reinstall the app to the workspace"
_BUG = "Slack refused the request as malformed: a bug in incidentbot, please report it with this outbox item"
_ADMIN = "a workspace admin setting forbids it; ask an admin to allow it for the app"
_UPLOADS = "the workspace forbids this upload; `incidentbot postmortem INC-n` renders the draft locally"

ERRORS: dict[str, tuple[ErrorClass, str]] = {
    # -- temporary: Slack is busy or degraded; retry with backoff ---------------------------------
    "ratelimited": (T, "rate limited by Slack"),
    "rate_limited": (T, "rate limited by Slack"),
    "fatal_error": (T, "Slack had a server error"),
    "internal_error": (T, "Slack had a server error"),
    "service_unavailable": (T, "Slack is temporarily unavailable"),
    "request_timeout": (T, "the request reached Slack truncated"),
    "team_added_to_org": (T, "the workspace is migrating to an Enterprise organisation"),
    "org_login_required": (T, "the workspace is migrating to an Enterprise organisation"),
    "external_channel_migrating": (T, "the channel is being migrated"),
    "update_failed": (T, "Slack failed to update the message"),
    "file_update_failed": (T, "Slack failed to update the file"),
    "list_record_comment_fetch_failed": (T, "Slack failed to read the thread"),
    "message_limit_exceeded": (T, "the workspace is over its message allowance for now"),
    "streaming_state_conflict": (T, "the message is still being streamed"),
    "hash_conflict": (T, "the Home tab changed meanwhile"),
    # -- setup: the token, the app's configuration or a workspace policy --------------------------
    "not_authed": (S, f"no token was sent: {REINSTALL}"),
    "invalid_auth": (S, f"the token is not valid: {REINSTALL}"),
    "account_inactive": (S, f"the token belongs to a deleted user or workspace: {REINSTALL}"),
    "token_revoked": (S, f"the token was revoked or the app removed: {REINSTALL}"),
    "token_expired": (S, f"the token expired: {REINSTALL}"),
    "not_allowed_token_type": (S, "this method needs a bot token (xoxb-...) in SLACK_BOT_TOKEN"),
    "is_bot": (S, "legacy bot tokens cannot call this method: use a Slack app's bot token (xoxb-...)"),
    "missing_scope": (S, "the app lacks a scope: add it under oauth_config.scopes.bot (manifest.yml) and reinstall"),
    "no_permission": (S, "the app lacks the permission for this call: check its scopes and that it is in the channel"),
    "access_denied": (S, "Slack denied access to the resource: check the app's scopes and channel membership"),
    "accesslimited": (S, "Slack limits this method on the bot's network: check the workspace's IP allow-list"),
    "ekm_access_denied": (S, f"administrators suspended posting (Enterprise Key Management): {_ADMIN}"),
    "enterprise_is_restricted": (S, "not callable from an Enterprise org: install the app per workspace"),
    # Not in the method reference pages, answered to org-wide apps the workspace was not granted to.
    "team_access_not_granted": (
        S,
        "the app is installed on the Enterprise organisation but not granted this workspace: "
        "an org admin must add it to the workspace",
    ),
    "two_factor_setup_required": (S, "the workspace requires two-factor setup of the installing user"),
    "restricted_action": (S, _ADMIN),
    "app_access_restricted": (S, f"the app may not be used here: {_ADMIN}"),
    "not_enabled": (S, "the Home tab is not enabled: turn on App Home (features.app_home) in the app config"),
    "messages_tab_disabled": (S, "the app's Messages tab is disabled: enable it in App Home"),
    "plan_upgrade_required": (S, "user groups need a Standard plan or above: name people instead of groups"),
    "canvas_disabled_user_team": (S, f"channel creation needs canvases enabled: {_ADMIN}"),
    "cannot_create_channel": (S, f"the app may not create channels: {_ADMIN}"),
    "file_uploads_disabled": (S, _UPLOADS),
    "file_uploads_except_images_disabled": (S, _UPLOADS),
    "file_type_not_allowed": (S, _UPLOADS),
    "file_upload_size_restricted": (S, _UPLOADS),
    "storage_limit_reached": (S, f"the workspace's file storage is full; {_UPLOADS}"),
    "blocked_file_type": (S, _UPLOADS),
    "deprecated_endpoint": (S, "Slack retired this endpoint: upgrade incidentbot"),
    "method_deprecated": (S, "Slack retired this method: upgrade incidentbot"),
    "unknown_method": (S, "SLACK_API_URL does not serve Slack's Web API (unknown method): check it"),
    "team_not_found": (S, "the workspace of this channel is unknown: check INCIDENT_ANNOUNCE_CHANNEL is a channel id"),
    "invalid_name": (S, "Slack refused the channel name: check INCIDENT_CHANNEL_PREFIX"),
    "invalid_name_maxlength": (S, "the channel name is too long: shorten INCIDENT_CHANNEL_PREFIX"),
    "invalid_name_punctuation": (S, "the channel name is only punctuation: check INCIDENT_CHANNEL_PREFIX"),
    "invalid_name_required": (S, "the channel name is empty: check INCIDENT_CHANNEL_PREFIX"),
    "invalid_name_specials": (S, "the channel name has characters Slack refuses: check INCIDENT_CHANNEL_PREFIX"),
    "no_channel": (S, "the channel name is empty: check INCIDENT_CHANNEL_PREFIX"),
    # -- setup: a request Slack refuses as malformed (a bug of ours) ------------------------------
    **{
        code: (S, _BUG)
        for code in (
            "invalid_arg_name",
            "invalid_array_arg",
            "invalid_charset",
            "invalid_form_data",
            "invalid_post_type",
            "missing_post_type",
            "invalid_arguments",
            "missing_argument",
            "invalid_blocks",
            "invalid_blocks_format",
            "msg_too_long",
            "msg_blocks_too_long",
            "no_text",
            "markdown_text_conflict",
            "invalid_attachments",
            "too_many_attachments",
            "attachment_payload_limit_exceeded",
            "too_many_contact_cards",
            "as_user_not_supported",
            "send_on_behalf_not_allowed",
            "invalid_metadata_format",
            "invalid_metadata_schema",
            "metadata_must_be_sent_from_app",
            "metadata_too_large",
            "missing_file_data",
            "draft_already_deleted",
            "draft_already_sent",
            "draft_has_conflict",
            "draft_not_found",
            "duplicate_channel_not_found",
            "duplicate_message_not_found",
            "cannot_reply_to_message",
            "block_mismatch",
            "cant_broadcast_message",
            "no_dual_broadcast_content_update",
            "file_deleted",
            "file_is_deleted",
            "file_share_limit_reached",
            "max_file_sharing_exceeded",
            "unable_to_share_files",
            "file_not_shared",
            "bad_timestamp",
            "no_item_specified",
            "invalid_cursor",
            "invalid_ts_latest",
            "invalid_ts_oldest",
            "invalid_metadata_filter_keys",
            "channels_limit_exceeded",
            "alt_txt_too_large",
            "snippet_too_large",
            "unknown_snippet_type",
            "unknown_subtype",
            "duplicate_external_id",
            "view_too_large",
            "missing_profile_id",
            "not_implemented",
            "no_user",
            "too_long",
        )
    },
    # -- channel: the conversation itself refuses ---------------------------------------------------
    "channel_not_found": (C, "the channel does not exist or the app cannot see it"),
    "invalid_channel": (C, "the channel does not exist or the app cannot see it"),
    "is_archived": (C, "the channel is archived"),
    "is_inactive": (C, "the channel is archived or frozen"),
    "not_in_channel": (C, "the bot is not a member of the channel"),
    "method_not_supported_for_channel_type": (C, "this kind of conversation does not support the call"),
    "channel_is_limited_access": (C, "the channel is a limited-access Salesforce channel"),
    "too_many_members": (C, "the channel is full"),
    "too_many_pins": (C, "the channel has too many pins"),
    "name_taken": (C, "a channel with that name exists"),
    "posting_to_channel_denied": (C, "the bot may not post in the channel"),
    "restricted_action_read_only_channel": (C, "the channel is read-only"),
    "restricted_action_thread_only_channel": (C, "the channel takes thread replies only"),
    "restricted_action_non_threadable_channel": (C, "the channel has no threads"),
    "restricted_action_thread_locked": (C, "the thread is locked"),
    "slack_connect_canvas_sharing_blocked": (C, "a Slack Connect policy of the channel forbids it"),
    "slack_connect_file_link_sharing_blocked": (C, "a Slack Connect policy of the channel forbids it"),
    "slack_connect_lists_sharing_blocked": (C, "a Slack Connect policy of the channel forbids it"),
    "slack_connect_blocked_file_type": (C, "a Slack Connect policy of the channel forbids it"),
    "slack_connect_clip_sharing_blocked": (C, "a Slack Connect policy of the channel forbids it"),
    "slack_connect_file_upload_sharing_blocked": (C, "a Slack Connect policy of the channel forbids it"),
    "app_cannot_join_channel": (C, "the app cannot be added to the channel"),
    "message_not_found": (C, "the message is gone"),
    "thread_not_found": (C, "the message is gone"),
    "cant_update_message": (C, "the message is not the bot's to edit"),
    "edit_window_closed": (C, "the workspace no longer allows editing the message"),
    "not_pinnable": (C, "the message cannot be pinned"),
    "already_pinned": (C, "the message is already pinned"),
    # conversations.archive / conversations.unarchive (docs.slack.dev): the bot treats the first and last
    # as done; the others leave the channel as it is.
    "already_archived": (C, "the channel is already archived"),
    "cant_archive_general": (C, "the workspace's general channel cannot be archived"),
    "cant_archive_required": (C, "a required channel cannot be archived"),
    "not_archived": (C, "the channel is not archived"),
    "file_not_found": (S, _BUG),
    "user_is_restricted": (S, "the bot's user is restricted from this action: a workspace admin must allow it"),
    # -- one person's problem ------------------------------------------------------------------------
    "user_not_found": (U, "no such user"),
    "user_not_visible": (U, "a user the bot may not see (another workspace of the organisation)"),
    "user_not_in_channel": (U, "not a member of the channel"),
    "no_such_subteam": (U, "no such user group"),
    "already_in_channel": (U, "already in the channel"),
    "cant_invite_self": (U, "the bot itself"),
    "cant_invite": (U, "Slack does not allow inviting them to this channel"),
    "org_user_not_in_team": (U, "in the Enterprise organisation but not in this workspace"),
    "ura_max_channels": (U, "a single-channel guest already in their channel"),
    "invitee_cant_see_channel": (U, "cannot see this channel from their workspace"),
    "no_external_invite_permission": (U, "an external user the bot may not invite"),
    "expired_trigger_id": (U, "the form took too long to open; run the command again"),
    "exchanged_trigger_id": (U, "the form was already opened; run the command again"),
    "invalid_trigger_id": (U, "the form could not be opened; run the command again"),
}
"""Error code -> (class, reason), the same for every method unless ``BY_METHOD`` says otherwise.

For ``SETUP`` the reason is the fix; for ``USER`` it is what the caller is told about that person."""

BY_METHOD: dict[tuple[str, str], tuple[ErrorClass, str]] = {
    # On an invitation these name one invitee, not the app or the channel.
    ("conversations.invite", "no_permission"): (U, "the bot may not invite this person"),
    ("conversations.invite", "user_is_restricted"): (U, "a guest who may not join this channel"),
    # "Setting the topic is a restricted action" (conversations.setTopic): the calling user, the bot, is
    # restricted from it; no channel of the incident would fare better.
    ("conversations.setTopic", "user_is_restricted"): (
        S,
        "the bot may not set channel topics (a workspace setting restricts it): ask an admin to allow it",
    ),
    # conversations.archive: "A team preference prevents the authenticated user from archiving."
    ("conversations.archive", "restricted_action"): (
        S,
        "a workspace setting stops the bot archiving channels: ask an admin to allow it, "
        "or set INCIDENT_ARCHIVE_AFTER=off",
    ),
    # pins.add: "Item is not in channel": the message, not the bot.
    ("pins.add", "not_in_channel"): (C, "the message is not in this channel"),
    # chat.update: "Team associated with the message and channel could not be found".
    ("chat.update", "team_not_found"): (C, "the workspace of the message's channel could not be found"),
    # The bytes of the upload never arrived: the whole upload is tried again.
    ("files.completeUploadExternal", "file_not_found"): (T, "the upload's bytes did not reach Slack"),
}
"""(method, code) -> (class, reason) where a code means something else for one method."""

WHEN_EVERYONE_REFUSED: dict[tuple[str, str], tuple[ErrorClass, str]] = {
    # Slack documents both as one invitee's problem ("User does not have permission to invite that
    # specific user", "An invited user is a guest user that is restricted from accessing this
    # conversation"), but when every person of an invitation, tried one at a time, gets the same
    # one, the cause is the bot's token or the channel: a workspace policy that bars the app from
    # inviting, or a channel only some may join. A setup fault then, said once with the fix.
    ("conversations.invite", "no_permission"): (
        S,
        "Slack lets the bot invite nobody here: allow apps to invite people to channels "
        "(workspace settings, Permissions) and check the app has the channels:manage scope",
    ),
    ("conversations.invite", "user_is_restricted"): (
        S,
        "the channel refuses every person invited (a channel restricted to some members, or the bot is a "
        "restricted user): check the channel's posting and membership settings",
    ),
}
"""(method, code) -> (class, fix) when two or more people, each invited alone, all got this same code."""


@dataclass(frozen=True)
class SlackFailure:
    """One failed Web API call, read from a SlackApiError whatever Slack (or a proxy) sent back.

    ``code`` is Slack's error code, or None when the body was not Slack JSON; ``status`` the HTTP
    status; ``retry_after`` the ``Retry-After`` header in seconds; ``detail`` what a person reads.
    """

    method: str
    code: str | None
    status: int
    retry_after: float | None
    detail: str
    body: dict[str, Any]
    item: int | None = None
    """The outbox item whose delivery failed, named in "report it with outbox item #n"."""
    override: tuple[ErrorClass, str] | None = None
    """A meaning decided from more than one answer (``WHEN_EVERYONE_REFUSED``)."""

    @property
    def error_class(self) -> ErrorClass:
        return self.meaning[0]

    @property
    def meaning(self) -> tuple[ErrorClass, str]:
        """The class of this failure and its reason (the fix, for setup faults)."""
        kind, reason = self._meaning()
        if self.item is not None:
            reason = reason.replace("this outbox item", f"outbox item #{self.item}")
        return kind, reason

    def _meaning(self) -> tuple[ErrorClass, str]:
        if self.override is not None:
            return self.override
        if self.status == 429 or self.code in ("ratelimited", "rate_limited"):
            return T, "rate limited by Slack"
        if self.code is None:
            return T, self.detail
        if self.status >= 500 and self.code not in ERRORS:
            return T, f"Slack answered HTTP {self.status}"
        needed = self.body.get("needed")
        if self.code == "missing_scope" and isinstance(needed, str) and needed:
            # Slack names the scope it wanted in ``needed`` (docs.slack.dev, "Scopes and permissions").
            fix = "add it under oauth_config.scopes.bot (manifest.yml) and reinstall"
            return S, f"the app lacks the scope {needed}: {fix}"
        known = BY_METHOD.get((self.method, self.code)) or ERRORS.get(self.code)
        if known is not None:
            return known
        return S, undocumented(self.code)

    def describe(self) -> str:
        """``chat.postMessage: channel_not_found (HTTP 200): the channel does not exist...``."""
        kind, reason = self.meaning
        code = self.code or "no Slack answer"
        return f"{self.method}: {code} (HTTP {self.status}, {kind.value}): {reason}"


def undocumented(code: str) -> str:
    """The reason given for an error code no method reference documents."""
    return f"Slack answered an undocumented error {code!r}; report it with this outbox item"


def classify(method: str, code: str) -> ErrorClass | None:
    """The class of a documented ``code`` answered by ``method``, or None if the table lacks it."""
    known = BY_METHOD.get((method, code)) or ERRORS.get(code)
    return known[0] if known else None


def failure_of(exc: SlackApiError) -> SlackFailure:
    """Read any SlackApiError safely: a Slack JSON answer, an empty one, or a raw non-JSON reply.

    slack_sdk puts the aiohttp response itself (no ``.get``) on errors whose body claimed JSON but
    was not; an HTML body served as text/html gives ``{}``. Neither raises here.
    """
    response: Any = exc.response
    status = int(getattr(response, "status_code", None) or getattr(response, "status", None) or 0)
    url = str(getattr(response, "api_url", None) or getattr(response, "url", None) or "")
    method = url.rstrip("/").rsplit("/", 1)[-1] or "?"
    data = getattr(response, "data", None)
    body: dict[str, Any] = dict(data) if isinstance(data, dict) else {}
    headers: Any = getattr(response, "headers", None) or {}
    code = body.get("error")
    detail = ""
    if not isinstance(code, str) or not code:
        code = None
        detail = _not_slack_json(status, headers, exc)
    return SlackFailure(method, code, status, retry_after_seconds(headers), detail, body)


def _not_slack_json(status: int, headers: Any, exc: SlackApiError) -> str:
    content_type = str(headers.get("Content-Type") or headers.get("content-type") or "no content type")
    hint = (
        "a proxy or Slack itself is failing"
        if status >= 500
        else "check SLACK_API_URL (it should end in /api/ and serve Slack's Web API)"
    )
    message = str(exc).split("\n", 1)[0]
    body = ""
    if "non-JSON format:" in message:
        body = " ".join(message.split("non-JSON format:", 1)[1].split())[:80]
    seen = f" ({content_type}{': ' + body if body else ''})"
    return f"Slack answered HTTP {status} without a Slack JSON body{seen}: {hint}"
