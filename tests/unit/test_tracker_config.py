"""TRACKER_* settings and the TRACKER_USERS_FILE mapping: kept when right, refused at start in one line."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.config import Secret, Settings, load_settings, load_tracker_users, read_settings
from bot.errors import ConfigError

GITHUB = {"TRACKER": "github", "TRACKER_PROJECT": "acme/web", "TRACKER_TOKEN": "github_pat_11ABC"}
JIRA = {
    "TRACKER": "jira",
    "TRACKER_URL": "https://acme.atlassian.net/",
    "TRACKER_PROJECT": "OPS",
    "TRACKER_TOKEN": "ATATT3xFfGF0abc",
    "TRACKER_USER": "bot@acme.example",
}


def settings(**values: str) -> Settings:
    return load_settings(values, env_file=None)


class TestTrackerSettings:
    def test_unset_means_no_tracker(self) -> None:
        loaded = settings()
        assert (loaded.tracker, loaded.tracker_project, loaded.tracker_users) == (None, "", {})

    def test_github_defaults_to_api_github_com(self) -> None:
        loaded = settings(**GITHUB)
        assert (loaded.tracker, loaded.tracker_url, loaded.tracker_project) == (
            "github",
            "https://api.github.com",
            "acme/web",
        )
        assert loaded.tracker_token == Secret("github_pat_11ABC")

    def test_jira_keeps_site_without_trailing_slash(self) -> None:
        loaded = settings(**JIRA)
        assert (loaded.tracker, loaded.tracker_url, loaded.tracker_user) == (
            "jira",
            "https://acme.atlassian.net",
            "bot@acme.example",
        )

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"TRACKER": "gitlab"}, "TRACKER must be github or jira (or unset for no tracker), got 'gitlab'."),
            ({"TRACKER_PROJECT": "web"}, "TRACKER_PROJECT must be the GitHub repository as owner/repo, got 'web'."),
            (
                {"TRACKER_PROJECT": "acme/web/x"},
                "TRACKER_PROJECT must be the GitHub repository as owner/repo, got 'acme/web/x'.",
            ),
            (
                {"TRACKER_TOKEN": ""},
                "TRACKER_TOKEN is not set: TRACKER=github needs a token (see the README, Trackers).",
            ),
            ({"TRACKER_URL": "api.github.com"}, "TRACKER_URL must be an http(s) URL, got 'api.github.com'."),
        ],
    )
    def test_bad_github_values_stop_start_up(self, changes: dict[str, str], message: str) -> None:
        with pytest.raises(ConfigError) as refused:
            settings(**{**GITHUB, **changes})
        assert refused.value.user_message == message

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"TRACKER_URL": ""}, "TRACKER_URL is not set: for Jira give your site, e.g. https://acme.atlassian.net."),
            (
                {"TRACKER_PROJECT": "ops"},
                "TRACKER_PROJECT must be a Jira project key (2-10 of A-Z, 0-9 and _, starting with a letter), "
                "got 'ops'.",
            ),
            (
                {"TRACKER_USER": ""},
                "TRACKER_USER must be the email of the Atlassian account owning TRACKER_TOKEN, got ''.",
            ),
        ],
    )
    def test_bad_jira_values_stop_start_up(self, changes: dict[str, str], message: str) -> None:
        with pytest.raises(ConfigError) as refused:
            settings(**{**JIRA, **changes})
        assert refused.value.user_message == message

    def test_the_token_never_shows_in_repr(self) -> None:
        assert "github_pat_11ABC" not in repr(settings(**GITHUB))

    def test_a_placeholder_token_is_named_by_require(self) -> None:
        with pytest.raises(ConfigError) as refused:
            settings(**{**GITHUB, "TRACKER_TOKEN": "your-github-token"}).require()
        assert refused.value.user_message.startswith("TRACKER_TOKEN is still a placeholder")


class TestUsersFile:
    def test_the_example_file_reads(self) -> None:
        example = Path(__file__).resolve().parents[2] / "tracker-users.example.yml"
        assert load_tracker_users(example, "github") == {"U024BE7LH": "octocat", "U0G9QF9C6": "hubot"}

    def test_settings_carry_the_mapping(self, tmp_path: Path) -> None:
        path = tmp_path / "users.yml"
        path.write_text("users:\n  U024BE7LH: 557058:f58131cb-b67d-43c7-b30d-6b58d40bd077\n")
        loaded = settings(**JIRA, TRACKER_USERS_FILE=str(path))
        assert loaded.tracker_users == {"U024BE7LH": "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"}

    @pytest.mark.parametrize(
        ("text", "tracker", "message"),
        [
            ("users:\n  octocat: U024BE7LH\n", "github", "'octocat' is not a Slack user id"),
            ("users:\n  U024BE7LH: -octocat\n", "github", "U024BE7LH: '-octocat' is not a GitHub login."),
            ("users:\n  U024BE7LH: octo cat\n", "jira", "U024BE7LH: 'octo cat' is not a Jira accountId."),
            ("people:\n  U024BE7LH: octocat\n", "github", "unknown key 'people' (only `users:` is read)."),
            ("users: [octocat]\n", "github", "`users:` must map Slack user ids to tracker users."),
            ("- octocat\n", "github", "must be a mapping with a `users:` key."),
            ("users:\n  U1: [\n", "github", "is not valid YAML at line"),
        ],
    )
    def test_bad_files_are_refused_naming_the_entry(
        self, tmp_path: Path, text: str, tracker: str, message: str
    ) -> None:
        path = tmp_path / "users.yml"
        path.write_text(text)
        with pytest.raises(ConfigError) as refused:
            load_tracker_users(path, tracker)
        assert refused.value.user_message.startswith(f"TRACKER_USERS_FILE {str(path)!r}")
        assert message in refused.value.user_message

    @pytest.mark.parametrize(
        ("value", "tracker", "message"),
        [
            ("", "github", "U024BE7LH has no login: give the GitHub login (or remove the line)."),
            ("~", "jira", "U024BE7LH has no accountId: give the Jira accountId (or remove the line)."),
            ("null", "github", "U024BE7LH has no login: give the GitHub login (or remove the line)."),
            ("12", "github", 'U024BE7LH: YAML reads 12 as a number: put the GitHub login in quotes, e.g. "12".'),
            ("1.5", "jira", 'U024BE7LH: YAML reads 1.5 as a number: put the Jira accountId in quotes, e.g. "1.5".'),
            (
                "yes",
                "github",
                "U024BE7LH: YAML reads the value as the boolean true (true/false, yes/no, on/off): "
                "put the GitHub login in quotes.",
            ),
            (
                "off",
                "jira",
                "U024BE7LH: YAML reads the value as the boolean false (true/false, yes/no, on/off): "
                "put the Jira accountId in quotes.",
            ),
            ("2026-12-01", "github", "U024BE7LH: YAML reads 2026-12-01 as a date: put the GitHub login in quotes."),
            (
                "[octocat, hubot]",
                "github",
                "U024BE7LH has a list: give one GitHub login (a Slack user maps to one GitHub user).",
            ),
            (
                "\n    login: octocat",
                "github",
                "U024BE7LH has a mapping: give the GitHub login as text, e.g. `U024BE7LH: octocat`.",
            ),
            (
                "{id: x}",
                "jira",
                "U024BE7LH has a mapping: give the Jira accountId as text, e.g. `U024BE7LH: 5b10ac8d82e05b22cc7d4ef5`.",
            ),
        ],
    )
    def test_a_value_yaml_reads_as_no_text_says_what_it_is(
        self, tmp_path: Path, value: str, tracker: str, message: str
    ) -> None:
        """Every kind of YAML value that is not text (null, number, boolean, date, list, mapping) is named as
        what YAML read, with the fix; never ``None is not a GitHub login``."""
        path = tmp_path / "users.yml"
        path.write_text(f"users:\n  U024BE7LH: {value}\n")
        with pytest.raises(ConfigError) as refused:
            load_tracker_users(path, tracker)
        assert refused.value.user_message == f"TRACKER_USERS_FILE {str(path)!r}: {message}"

    def test_a_missing_file_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError) as refused:
            settings(**GITHUB, TRACKER_USERS_FILE=str(tmp_path / "nope.yml"))
        assert refused.value.user_message == f"TRACKER_USERS_FILE {str(tmp_path / 'nope.yml')!r} is not a file."

    def test_an_empty_file_maps_nobody(self, tmp_path: Path) -> None:
        path = tmp_path / "users.yml"
        path.write_text("# nobody yet\n")
        assert load_tracker_users(path, "github") == {}

    @given(
        st.dictionaries(
            st.from_regex(r"U[A-Z0-9]{8,10}", fullmatch=True),
            st.from_regex(r"[a-z0-9]{1,20}(-[a-z0-9]{1,10})?", fullmatch=True),
            max_size=8,
        )
    )
    def test_any_valid_mapping_reads_back_unchanged(self, mapping: dict[str, str]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "users.yml"
            path.write_text(yaml.safe_dump({"users": mapping}))
            assert load_tracker_users(path, "github") == mapping


class TestSyncInterval:
    @pytest.mark.parametrize(
        ("typed", "minutes"), [(None, 10.0), ("10", 10.0), ("0.5", 0.5), ("1440", 1440.0), (" 3 ", 3.0)]
    )
    def test_kept(self, typed: str | None, minutes: float) -> None:
        """TRACKER_SYNC_MINUTES: 10 by default, any number of minutes from 0.05 to 1440."""
        values = {**GITHUB, **({"TRACKER_SYNC_MINUTES": typed} if typed is not None else {})}
        assert settings(**values).tracker_sync_minutes == minutes

    @pytest.mark.parametrize("typed", ["0", "-5", "1441", "ten", "nan", "inf", "10m"])
    def test_refused(self, typed: str) -> None:
        """Anything else stops start-up naming the variable and the range."""
        with pytest.raises(ConfigError) as refused:
            settings(**GITHUB, TRACKER_SYNC_MINUTES=typed)
        assert refused.value.user_message == (
            f"TRACKER_SYNC_MINUTES must be a number of minutes from 0.05 to 1440 (default 10), got {typed!r}."
        )


class TestDigestChannel:
    @pytest.mark.parametrize(
        ("typed", "kept"), [(None, None), ("", None), ("C0123ABCD", "C0123ABCD"), ("G01ABC", "G01ABC")]
    )
    def test_kept(self, typed: str | None, kept: str | None) -> None:
        """INCIDENT_FOLLOWUP_DIGEST_CHANNEL: unset or empty is no digest; a channel id is kept."""
        values = {"INCIDENT_FOLLOWUP_DIGEST_CHANNEL": typed} if typed is not None else {}
        assert settings(**values).followup_digest_channel == kept

    @pytest.mark.parametrize("typed", ["#ops", "ops", "c0123abcd", "U0123ABCD", "C0"])
    def test_refused(self, typed: str) -> None:
        """A channel name or anything that is not a channel id stops start-up naming the variable."""
        with pytest.raises(ConfigError) as refused:
            settings(INCIDENT_FOLLOWUP_DIGEST_CHANNEL=typed)
        assert refused.value.user_message == (
            "INCIDENT_FOLLOWUP_DIGEST_CHANNEL must be a channel id such as C0123ABCD (in Slack: the channel's "
            f"details, at the bottom), got {typed!r}."
        )


class TestWebhookSecret:
    def test_kept_as_a_secret(self) -> None:
        """TRACKER_WEBHOOK_SECRET is kept as a Secret (never shown in a repr); unset is empty."""
        assert settings(**GITHUB).tracker_webhook_secret == Secret("")
        loaded = settings(**GITHUB, TRACKER_WEBHOOK_SECRET="whsec-abc123")
        assert loaded.tracker_webhook_secret.get() == "whsec-abc123"
        assert "whsec-abc123" not in repr(loaded)


class TestEveryTrackerProblemAtOnce:
    def test_the_testers_example_names_every_bad_tracker_setting(self) -> None:
        """Found by a fresh tester: only TRACKER_URL was named; fixed, the next run named the users file."""
        values = {
            "TRACKER": "github",
            "TRACKER_PROJECT": "acme/web",
            "TRACKER_TOKEN": "ghp_x",
            "TRACKER_SYNC_MINUTES": "0",
            "TRACKER_USERS_FILE": "/nonexistent",
            "TRACKER_URL": "ftp://x",
        }
        loaded, problems = read_settings(values, env_file=None)
        assert [(p.name, p.message) for p in problems] == [
            ("TRACKER_URL", "TRACKER_URL must be an http(s) URL, got 'ftp://x'."),
            ("TRACKER_USERS_FILE", "TRACKER_USERS_FILE '/nonexistent' is not a file."),
            (
                "TRACKER_SYNC_MINUTES",
                "TRACKER_SYNC_MINUTES must be a number of minutes from 0.05 to 1440 (default 10), got '0'.",
            ),
        ]
        assert loaded.tracker is None
        with pytest.raises(ConfigError, match=r"^3 settings are invalid: TRACKER_URL must be"):
            load_settings(values, env_file=None)

    def test_jira_with_nothing_but_its_name(self) -> None:
        _, problems = read_settings({"TRACKER": "jira"}, env_file=None)
        assert [p.name for p in problems] == ["TRACKER_URL", "TRACKER_PROJECT", "TRACKER_TOKEN", "TRACKER_USER"]


class TestTrackerSettingsWithoutTracker:
    @pytest.mark.parametrize(
        "name",
        [
            "TRACKER_URL",
            "TRACKER_PROJECT",
            "TRACKER_TOKEN",
            "TRACKER_USER",
            "TRACKER_USERS_FILE",
            "TRACKER_SYNC_MINUTES",
            "TRACKER_WEBHOOK_SECRET",
        ],
    )
    def test_each_one_set_alone_is_a_problem_naming_it(self, name: str) -> None:
        """Any TRACKER_* setting given while TRACKER is unset is refused naming it and the fix, not ignored."""
        loaded, problems = read_settings({name: "x"}, env_file=None)
        assert [(p.name, p.message) for p in problems] == [
            ("TRACKER", f"TRACKER is not set, so {name} is ignored: set TRACKER=github|jira or remove it.")
        ]
        assert loaded.tracker is None

    def test_the_example_names_every_stray_setting_in_one_line(self) -> None:
        """A GitHub set-up with its TRACKER line forgotten: one message naming the three, start-up refused."""
        values = {"TRACKER_PROJECT": "acme/web", "TRACKER_TOKEN": "ghp_x", "TRACKER_USERS_FILE": "/etc/users.yml"}
        with pytest.raises(ConfigError) as refused:
            load_settings(values, env_file=None)
        assert refused.value.user_message == (
            "TRACKER is not set, so TRACKER_PROJECT, TRACKER_TOKEN, TRACKER_USERS_FILE are ignored: "
            "set TRACKER=github|jira or remove them."
        )

    def test_empty_values_are_unset(self) -> None:
        """``TRACKER_URL=`` (as .env.example ships them) is no setting: no problem."""
        values = {"TRACKER_URL": "", "TRACKER_TOKEN": " ", "TRACKER_SYNC_MINUTES": ""}
        _, problems = read_settings(values, env_file=None)
        assert problems == []


class TestUsersFileDuplicates:
    def test_the_example_names_the_id_and_both_lines(self, tmp_path: Path) -> None:
        """A Slack id mapped twice was read as its last login; now refused with the file, the id and the lines."""
        path = tmp_path / "users.yml"
        path.write_text("users:\n  U024BE7LH: octocat\n  U0G9QF9C6: hubot\n  U024BE7LH: octo-cat\n")
        with pytest.raises(ConfigError) as refused:
            load_tracker_users(path, "github")
        assert refused.value.user_message == (
            f"TRACKER_USERS_FILE {str(path)!r}: U024BE7LH is given more than once (lines 2, 4): keep one of them."
        )

    def test_one_login_for_two_slack_ids_is_fine(self, tmp_path: Path) -> None:
        """Two Slack accounts of one person may map to one login."""
        path = tmp_path / "users.yml"
        path.write_text("users:\n  U024BE7LH: octocat\n  W0G9QF9C6: octocat\n")
        assert load_tracker_users(path, "github") == {"U024BE7LH": "octocat", "W0G9QF9C6": "octocat"}

    @given(
        st.lists(st.from_regex(r"U[A-Z0-9]{8,10}", fullmatch=True), min_size=1, max_size=6, unique=True),
        st.data(),
    )
    def test_any_repeated_id_is_refused_with_its_lines(self, ids: list[str], data: st.DataObject) -> None:
        """Whichever id is repeated and wherever, quoted or not: refused naming it and the line of each copy."""
        repeated = data.draw(st.sampled_from(ids))
        at = data.draw(st.integers(0, len(ids)))
        quote = data.draw(st.sampled_from(["", "'", '"']))
        keys = [*ids[:at], repeated, *ids[at:]]
        lines = [f"  {quote}{key}{quote}: login{index}" for index, key in enumerate(keys)]
        expected_lines = [index + 2 for index, key in enumerate(keys) if key == repeated]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "users.yml"
            path.write_text("users:\n" + "\n".join(lines) + "\n")
            with pytest.raises(ConfigError) as refused:
                load_tracker_users(path, "github")
        assert refused.value.user_message.endswith(
            f": {repeated} is given more than once (lines {expected_lines[0]}, {expected_lines[1]}): keep one of them."
        )
