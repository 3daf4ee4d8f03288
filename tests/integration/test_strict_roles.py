"""Strict roles through the grammar and the service, on SQLite and PostgreSQL (issue 11, item 10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.app import UseCases, wire_usecases
from bot.cli.demo import ReplayClock
from bot.domain.grammar import parse_command
from bot.domain.policy import NotAllowed
from bot.slack.ids import BlockId, CallbackId, InputId
from bot.slack.text import person_mention
from bot.store import IncidentStore
from bot.usecases.shared import Actor
from tests.support import signing
from tests.support.bot_server import running_bot, sqlite_url
from tests.support.fake_slack import FakeSlack

ALICE = Actor("U0ALICE", "alice")
MALLORY = Actor("U0MALLORY", "mallory")


@pytest.fixture()
def strict(store: IncidentStore, clock: ReplayClock) -> UseCases:
    return wire_usecases(store, clock=clock, strict_roles=True)


def _run(usecases: UseCases, text: str, actor: Actor) -> None:
    usecases.incidents.run(parse_command(text), actor)


class TestStrictRolesCannotBeBypassed:
    @pytest.mark.parametrize("grant", ["lead <@U0MALLORY|mallory>", "assemble <@U0MALLORY|mallory>"])
    def test_an_outsider_cannot_grant_themselves_resolve(self, strict: UseCases, grant: str) -> None:
        """The issue's example: `lead <@self>` or `assemble <@self>` then `resolve` is refused at the first step."""
        _run(strict, "declare sev1 CDN edge returning 502s", ALICE)
        _run(strict, "INC-1 lead <@U0ALICE|alice>", ALICE)
        with pytest.raises(NotAllowed) as refused:
            _run(strict, f"INC-1 {grant}", MALLORY)
        assert refused.value.render(person_mention).startswith("Only the lead <@U0ALICE> and the IRT of INC-1 may ")
        with pytest.raises(NotAllowed):
            _run(strict, "INC-1 resolve", MALLORY)
        incident, entries = strict.incidents.timeline(1)
        assert incident.lead == "U0ALICE"
        assert [m.user_id for m in incident.members if m.user_id == "U0MALLORY"] == []
        assert incident.status.value == "declared"
        assert [e.actor for e in entries if e.actor == "U0MALLORY"] == []

    def test_the_lead_can_still_hand_over_and_staff(self, strict: UseCases) -> None:
        """The lead assembles and hands the lead to an IRT member, who may then resolve."""
        _run(strict, "declare sev1 CDN edge returning 502s", ALICE)
        _run(strict, "INC-1 lead <@U0ALICE|alice>", ALICE)
        _run(strict, "INC-1 assemble <@U0BOB|bob>:networking", ALICE)
        _run(strict, "INC-1 lead <@U0BOB|bob>", Actor("U0BOB", "bob"))
        _run(strict, "INC-1 resolve", Actor("U0BOB", "bob"))
        incident, _ = strict.incidents.timeline(1)
        assert (incident.lead, incident.status.value) == ("U0BOB", "resolved")


BOB = Actor("U0BOB", "bob")


class TestStaffingBeforeALead:
    @pytest.mark.parametrize("grant", ["lead <@U0MALLORY|mallory>", "assemble <@U0MALLORY|mallory>"])
    def test_an_outsider_cannot_staff_a_person_declared_incident_and_lock_the_declarer_out(
        self, strict: UseCases, grant: str
    ) -> None:
        """Before a lead exists, only the declarer (and IRT) may name the lead or assemble a person's incident."""
        _run(strict, "declare sev1 CDN edge returning 502s", ALICE)
        with pytest.raises(NotAllowed) as refused:
            _run(strict, f"INC-1 {grant}", MALLORY)
        assert refused.value.render(person_mention).startswith("Only the declarer <@U0ALICE> and the IRT of INC-1 may ")
        _run(strict, "INC-1 lead <@U0ALICE|alice>", ALICE)  # the declarer is not locked out
        incident, _ = strict.incidents.timeline(1)
        assert (incident.lead, [m.user_id for m in incident.members]) == ("U0ALICE", [])

    def test_anyone_may_pick_up_an_alert_declared_incident(self, strict: UseCases) -> None:
        """An incident no person declared (declared_by alertmanager) is taken by whoever takes the lead first."""
        strict.incidents.run(parse_command("declare sev2 Checkout latency"), Actor("alertmanager"))
        _run(strict, "INC-1 lead <@U0MALLORY|mallory>", MALLORY)
        with pytest.raises(NotAllowed):
            _run(strict, "INC-1 lead <@U0BOB|bob>", BOB)  # now that there is a lead, it is the lead's move
        incident, _ = strict.incidents.timeline(1)
        assert incident.lead == "U0MALLORY"


class TestRootCauseAndImpactAreDecisive:
    @pytest.mark.parametrize(
        ("text", "move"),
        [
            ("INC-1 hypothesis confirm 1 volume normal", "confirm a hypothesis of it"),
            ("INC-1 hypothesis reject 1 volume normal", "reject a hypothesis of it"),
            ("INC-1 impact 50%", "set the impact of it"),
        ],
    )
    def test_outsiders_cannot_set_the_root_cause_or_the_impact(self, strict: UseCases, text: str, move: str) -> None:
        """`hypothesis confirm|reject` and `impact` belong to the lead and IRT; anyone may still add a hypothesis."""
        _run(strict, "declare sev1 CDN edge returning 502s", ALICE)
        _run(strict, "INC-1 lead <@U0ALICE|alice>", ALICE)
        _run(strict, "INC-1 hypothesis DDoS", MALLORY)
        with pytest.raises(NotAllowed) as refused:
            _run(strict, text, MALLORY)
        assert f"Only the lead <@U0ALICE> and the IRT of INC-1 may {move} (strict roles are on)." in (
            refused.value.render(person_mention)
        )
        _run(strict, text, ALICE)


class TestStrictRolesInSlack:
    def test_an_outsiders_group_assemble_is_refused_up_front(self, tmp_path: Path) -> None:
        """`assemble <!subteam^...>` by an outsider is refused in the first answer, not after "Assembling the IRT…"."""
        with FakeSlack() as fake, running_bot(sqlite_url(tmp_path), fake.base_url, INCIDENT_STRICT_ROLES="true") as bot:
            fake.add_usergroup("S0NETOPS", "netops", ["U0BOB"])
            assert "INC-1" in json.loads(bot.command("declare sev1 CDN edge returning 502s").body)["text"]
            result = bot.command("INC-1 assemble <!subteam^S0NETOPS|@netops>", user_id="U0MALLORY", user_name="mallory")
            bot.drain()
            assert result.status == 200
            assert json.loads(result.body)["text"] == (
                "Only the declarer <@U0ALICE> and the IRT of INC-1 may add responders to it (strict roles are on). "
                "Ask one of them to add you: `/incident INC-1 assemble <@U0MALLORY>`."
            )
            assert fake.calls_to("usergroups.users.list") == []

    def test_the_resolve_modal_shows_the_refusal_as_plain_text(self, tmp_path: Path) -> None:
        """A modal's field error is plain text: the refusal names roles, with no `<@U0ALICE>` markup. Past the 2 s
        ack budget (a loaded machine) the modal closes instead and the refusal is an ephemeral note in the
        incident channel (bot/slack/listeners/interactions.py), where mentions are Slack's."""
        with FakeSlack() as fake, running_bot(sqlite_url(tmp_path), fake.base_url, INCIDENT_STRICT_ROLES="true") as bot:
            fake.add_user("U0MALLORY", "mallory")
            bot.command("declare sev1 CDN edge returning 502s")
            bot.command("INC-1 lead <@U0ALICE|alice>")
            submission = signing.view_submission_body(
                CallbackId.COMMAND,
                {BlockId.TEXT: {InputId.TEXT: signing.text_input(None)}},
                private_metadata=json.dumps({"verb": "resolve", "incident": 1}),
                user_id="U0MALLORY",
                user_name="mallory",
            )
            answer = bot.interaction(submission).json()
            bot.drain()
            notes = [str(c.params.get("text")) for c in fake.calls_to("chat.postEphemeral")]
        if answer is None:
            assert notes == [
                "Only the lead <@U0ALICE> and the IRT of INC-1 may resolve it (strict roles are on). "
                "Ask one of them to add you: `/incident INC-1 assemble <@U0MALLORY>`."
            ]
        else:
            assert answer == {
                "response_action": "errors",
                "errors": {BlockId.TEXT: "Only the incident lead and IRT may resolve INC-1 (strict roles are on)."},
            }
            assert notes == []
