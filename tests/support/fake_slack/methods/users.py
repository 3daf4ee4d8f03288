"""users.info, users.list, usergroups.list and usergroups.users.list."""

from __future__ import annotations

import copy
from typing import Any

from tests.support.fake_slack.params import flag, paginate, required
from tests.support.fake_slack.records import SlackError
from tests.support.fake_slack.registry import api_method
from tests.support.fake_slack.state import Workspace


@api_method("users.info")
def _users_info(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    return {"user": copy.deepcopy(ws.known_user(required(params, "user", "user_not_found")))}


@api_method("users.list")
def _users_list(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    page, cursor = paginate(list(ws.users.values()), params, 200)
    return {"members": copy.deepcopy(page), "response_metadata": {"next_cursor": cursor}}


@api_method("usergroups.list")
def _usergroups_list(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    groups = copy.deepcopy(list(ws.usergroups.values()))
    if not flag(params, "include_users"):
        for group in groups:
            group.pop("users")
    return {"usergroups": groups}


@api_method("usergroups.users.list")
def _usergroups_users_list(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    group = ws.usergroups.get(required(params, "usergroup", "no_such_subteam"))
    if group is None:
        raise SlackError("no_such_subteam")
    return {"users": list(group["users"])}
