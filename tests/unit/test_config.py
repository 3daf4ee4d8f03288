"""Settings: validated once, documented in .env.example, secrets never printed."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import _FIELD_OF, Secret, is_placeholder, load_settings, read_settings
from bot.domain.model import Severity
from bot.errors import ConfigError
from bot.slack.web_api import channel_name
from tests.support.fake_slack import SlackError, check_channel_name

ROOT = Path(__file__).resolve().parents[2]


class TestLoadSettings:
    def test_defaults_without_any_environment(self) -> None:
        """With nothing set, the bot uses SQLite in the working directory and Slack's public API."""
        settings = load_settings({}, env_file=None)
        assert settings.database_url == "sqlite:///incidents.db"
        assert settings.slack_api_url == "https://slack.com/api/"
        assert settings.channel_prefix == "inc"

    def test_severity_settings_take_every_spelling(self) -> None:
        """INCIDENT_ALERT_SEVERITY_MAP values and INCIDENT_NUDGE_MINUTES keys read P1, SEV-2, sev 3 like commands."""
        settings = load_settings(
            {"INCIDENT_ALERT_SEVERITY_MAP": "page=P1,ticket=SEV-3", "INCIDENT_NUDGE_MINUTES": "P1=10,SEV-2=20"},
            env_file=None,
        )
        assert settings.alert_severity_map["page"] is Severity.SEV1
        assert settings.alert_severity_map["ticket"] is Severity.SEV3
        assert settings.nudge_after == {Severity.SEV1: timedelta(minutes=10), Severity.SEV2: timedelta(minutes=20)}

    @pytest.mark.parametrize(
        ("value", "expected"), [("", 33_554_432), ("1048576", 1_048_576), ("67108864", 67_108_864)]
    )
    def test_alert_body_limit(self, value: str, expected: int) -> None:
        """INCIDENT_ALERT_MAX_BYTES: 32 MiB by default, any byte count from 1 MiB to 1 GiB."""
        assert load_settings({"INCIDENT_ALERT_MAX_BYTES": value}, env_file=None).alert_max_bytes == expected

    @pytest.mark.parametrize("value", ["1048575", "1073741825", "16MiB", "-5", "1e7"])
    def test_alert_body_limit_out_of_range_stops_startup(self, value: str) -> None:
        """Below 1 MiB, above 1 GiB or not a byte count: a ConfigError naming the variable."""
        with pytest.raises(ConfigError, match="INCIDENT_ALERT_MAX_BYTES"):
            load_settings({"INCIDENT_ALERT_MAX_BYTES": value}, env_file=None)

    def test_api_url_gets_its_trailing_slash(self) -> None:
        """The SDK needs base_url to end with a slash; a missing one is added."""
        assert (
            load_settings({"SLACK_API_URL": "http://127.0.0.1:9/api"}, env_file=None).slack_api_url
            == "http://127.0.0.1:9/api/"
        )

    def test_environment_wins_over_env_file(self, tmp_path: Path) -> None:
        """A value in the environment overrides the same key in .env."""
        env_file = tmp_path / ".env"
        env_file.write_text("INCIDENT_CHANNEL_PREFIX=fromfile\nLOG_FORMAT=json\n")
        settings = load_settings({"INCIDENT_CHANNEL_PREFIX": "fromenv"}, env_file=env_file)
        assert settings.channel_prefix == "fromenv"
        assert settings.log_format == "json"

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("SLACK_API_URL", "slack.com/api"),
            ("LOG_FORMAT", "xml"),
            ("INCIDENT_CHANNEL_PREFIX", "Bad Prefix"),
            ("INCIDENT_TEMPLATES_DIR", "/no/such/folder"),
        ],
    )
    def test_invalid_values_are_refused_with_their_name(self, name: str, value: str) -> None:
        """A bad value stops start-up with a message naming the variable."""
        with pytest.raises(ConfigError, match=name):
            load_settings({name: value}, env_file=None)

    def test_missing_required_setting_names_it(self) -> None:
        """require() names the first missing variable in one line."""
        settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1"}, env_file=None)
        with pytest.raises(ConfigError) as caught:
            settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
        assert "SLACK_SIGNING_SECRET" in caught.value.user_message
        assert "\n" not in caught.value.user_message


DIGIT_LOOKALIKES = ["5\u00b2", "\u00b2", "\u2460", "\u2075", "5\u2080", "\U0001f105"]
"""Characters str.isdigit() accepts and int() refuses: superscripts, circled and subscript digits, a
digit with a comma (Unicode category No); each crashed start-up with int()'s ValueError."""
INTEGER_SETTINGS = {
    "INCIDENT_POSTMORTEM_REMINDER_DAYS": "{}",
    "INCIDENT_NUDGE_MINUTES": "sev1={}",
    "INCIDENT_ALERT_MAX_BYTES": "{}",
}


class TestIntegerSettings:
    @pytest.mark.parametrize("name", sorted(INTEGER_SETTINGS))
    @pytest.mark.parametrize("digits", DIGIT_LOOKALIKES)
    def test_a_digit_lookalike_is_refused_in_one_line_naming_the_setting(self, name: str, digits: str) -> None:
        with pytest.raises(ConfigError) as refused:
            load_settings({name: INTEGER_SETTINGS[name].format(digits)}, env_file=None)
        assert name in refused.value.user_message and "\n" not in refused.value.user_message

    def test_full_width_digits_are_read_as_the_digits_they_are(self) -> None:
        settings = load_settings(
            {"INCIDENT_POSTMORTEM_REMINDER_DAYS": "\uff15", "INCIDENT_NUDGE_MINUTES": "sev1=\uff11\uff10"},
            env_file=None,
        )
        assert settings.postmortem_reminder_days == 5
        assert settings.nudge_after[Severity.SEV1] == timedelta(minutes=10)


class TestAppToken:
    @pytest.mark.parametrize(
        "value",
        ["xoxb-1234-5678-abcdef", "xoxp-1-2-3", "1-A0APP-1-secret", "wrong", "XAPP-1-A0APP-1-secret", "xapp1-A0APP"],
    )
    def test_anything_but_an_app_level_token_stops_start_up_naming_it(self, value: str) -> None:
        """SLACK_APP_TOKEN must start with xapp- (Slack's app-level tokens); anything else is refused before a call."""
        with pytest.raises(ConfigError) as refused:
            load_settings({"SLACK_APP_TOKEN": value}, env_file=None)
        assert refused.value.user_message.startswith("SLACK_APP_TOKEN must be an app-level token (xapp-...)")
        assert "\n" not in refused.value.user_message

    def test_a_bot_token_given_as_app_token_is_named_as_such(self) -> None:
        """The usual mix-up, an xoxb- bot token in SLACK_APP_TOKEN, is told apart."""
        with pytest.raises(ConfigError) as refused:
            load_settings({"SLACK_APP_TOKEN": "xoxb-1234-5678-abcdef"}, env_file=None)
        assert refused.value.user_message == (
            "SLACK_APP_TOKEN must be an app-level token (xapp-...), from Basic Information > App-Level Tokens "
            "of your Slack app; xoxb-... is the bot token (SLACK_BOT_TOKEN)."
        )

    def test_an_app_level_token_is_kept(self) -> None:
        """An xapp- value (whitespace around it trimmed) is accepted as it is."""
        settings = load_settings({"SLACK_APP_TOKEN": " xapp-1-A0APP-1-secret "}, env_file=None)
        assert settings.slack_app_token.get() == "xapp-1-A0APP-1-secret"


class TestSecret:
    def test_repr_masks_the_value(self) -> None:
        """Tokens never appear in reprs, so logging a Settings object leaks nothing."""
        settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-very-secret"}, env_file=None)
        assert "xoxb-very-secret" not in repr(settings)
        assert settings.slack_bot_token.get() == "xoxb-very-secret"
        assert not Secret("")


class TestEnvExample:
    def test_env_example_documents_exactly_the_settings(self) -> None:
        """Every variable the code reads is in .env.example, and nothing else is."""
        documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
        assert documented == set(_FIELD_OF)


class TestChannelPrefix:
    @pytest.mark.parametrize(
        "prefix",
        [
            "incé",
            "inc²",
            "INC",
            "Inc",
            "inc é",
            "inc.",
            "inc#ops",
            "\uff49\uff4e\uff43",  # fullwidth "inc"
            "inc\u0660",  # an Arabic-Indic zero: a digit, not an ASCII one
            "a" * 21,
            "inc\u200b",
            "",
            "   ",
            "inc-",
            "-inc",
            "_",
            "---",
            "inc_",
            "_inc",
            "-",
        ],
    )
    def test_a_prefix_slack_would_refuse_stops_start_up_in_one_line(self, prefix: str) -> None:
        """Accented, superscript, non-ASCII digits, uppercase, spaces, punctuation, 21 characters, empty,
        starting or ending with - or _: refused."""
        with pytest.raises(ConfigError) as caught:
            load_settings({"INCIDENT_CHANNEL_PREFIX": prefix}, env_file=None)
        message = caught.value.user_message
        assert message.startswith("INCIDENT_CHANNEL_PREFIX ") and "\n" not in message
        assert "use 1 to 20 of a-z, 0-9, - and _" in message
        assert "starting and ending with a letter or digit" in message

    def test_an_empty_prefix_is_refused_not_replaced_by_the_default(self) -> None:
        """`INCIDENT_CHANNEL_PREFIX=` stops start-up (README); only an unset variable means `inc`."""
        with pytest.raises(ConfigError) as caught:
            load_settings({"INCIDENT_CHANNEL_PREFIX": ""}, env_file=None)
        assert caught.value.user_message == (
            "INCIDENT_CHANNEL_PREFIX '' is not a name Slack accepts: use 1 to 20 of a-z, 0-9, - and _ (lowercase "
            "ASCII), starting and ending with a letter or digit, e.g. inc."
        )
        assert load_settings({}, env_file=None).channel_prefix == "inc"

    @pytest.mark.parametrize("prefix", ["inc", "ops-inc", "sev_0", "a" * 20, "2026", "x", "a-_-b", "ops--inc"])
    def test_a_prefix_slack_accepts_is_kept(self, prefix: str) -> None:
        """Lowercase ASCII letters, digits, - and _ up to 20 characters are kept as given."""
        assert load_settings({"INCIDENT_CHANNEL_PREFIX": prefix}, env_file=None).channel_prefix == prefix

    @given(
        st.text(
            alphabet=st.one_of(st.sampled_from("abcxyz019-_"), st.characters(codec="utf-8")),
            min_size=1,
            max_size=24,
        ).filter(lambda p: p.strip() == p),
        st.integers(1, 10**6),
    )
    def test_accepted_exactly_when_slack_accepts_the_channel_names(self, prefix: str, number: int) -> None:
        """A prefix is accepted iff every channel named from it passes Slack's naming rules, as the fake
        Slack checks them for conversations.create (lowercase ASCII letters, digits, - and _, <= 80)."""
        try:
            load_settings({"INCIDENT_CHANNEL_PREFIX": prefix}, env_file=None)
            accepted = True
        except ConfigError:
            accepted = False
        names = [channel_name(prefix, number, "CDN edge: 502s!", attempt) for attempt in (1, 20)]
        slack_accepts = True
        for name in names:
            try:
                check_channel_name(name)
            except SlackError:
                slack_accepts = False
        # Names that read well: a letter or digit first, and exactly one "-" between prefix and number.
        alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
        tidy = all(
            name[0] in alnum and name[len(prefix) - 1] in alnum and name[len(prefix) :].startswith(f"-{number}")
            for name in names
        )
        assert accepted == (slack_accepts and tidy and len(prefix) <= 20)


class TestPlaceholders:
    SERVE = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    SOCKET = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    REAL: ClassVar[dict[str, str]] = {
        "SLACK_BOT_TOKEN": "xoxb-1234-5678-abcdef",
        "SLACK_SIGNING_SECRET": "8f14e45fceea167a5a36dedd4bea2543",
        "SLACK_APP_TOKEN": "xapp-1-A0APP-1-secret",
    }

    @pytest.mark.parametrize(
        ("name", "placeholder", "refused_by"),
        [
            ("SLACK_BOT_TOKEN", "xoxb-your-bot-token", {"serve", "socket"}),
            ("SLACK_SIGNING_SECRET", "your-signing-secret", {"serve", "socket"}),
            # Socket Mode's token: a team serving over HTTP leaves .env.example's value in place.
            ("SLACK_APP_TOKEN", "xapp-your-app-token", {"socket"}),
            ("INCIDENT_WEBHOOK_TOKEN", "your-webhook-token", {"serve", "socket"}),
            ("PAGERDUTY_ROUTING_KEY", "<routing key>", {"serve", "socket"}),
        ],
    )
    def test_each_secret_placeholder_is_refused_where_its_mode_needs_it(
        self, name: str, placeholder: str, refused_by: set[str]
    ) -> None:
        """Each secret left as a placeholder stops `require` of the modes that use it, with a line naming it."""
        settings = load_settings({**self.REAL, name: placeholder}, env_file=None)
        for mode, required in (("serve", self.SERVE), ("socket", self.SOCKET)):
            if mode in refused_by:
                with pytest.raises(ConfigError, match=f"^{name} is still a placeholder"):
                    settings.require(*required)
            else:
                settings.require(*required)

    def test_env_example_values_are_placeholders(self) -> None:
        secrets = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")
        example = {k: v for k, v in _env_example().items() if k in secrets}
        assert example == {
            "SLACK_BOT_TOKEN": "xoxb-your-bot-token",
            "SLACK_SIGNING_SECRET": "your-signing-secret",
            "SLACK_APP_TOKEN": "xapp-your-app-token",
        }
        assert all(is_placeholder(v) for v in example.values())
        load_settings(self.REAL, env_file=None).require(*self.SERVE)
        load_settings(self.REAL, env_file=None).require(*self.SOCKET)

    @pytest.mark.parametrize(
        "value",
        [
            "xoxb-your-bot-token",
            "your-signing-secret",
            "xapp-your-app-token",
            "YOUR_TOKEN",
            "your token here",
            "<your-token>",
            "<token>",
            "[secret]",
            "{signing_secret}",
            "changeme",
            "CHANGE-ME",
            "replace_me",
            "xoxb-changeme",
            "xoxb-...",
            "...",
            "xxxxxxxx",
            "xoxb-xxxxxxxx",
            "xoxb-<token>",
            "xapp-<your app token>",
            "TODO",
        ],
    )
    def test_placeholder_spellings_are_recognised(self, value: str) -> None:
        """The .env.example values and the other ways people write "put your secret here"."""
        assert is_placeholder(value)

    @pytest.mark.parametrize(
        "value",
        ["", "xoxb-1234-5678-abcdef", "8f14e45fceea167a5a36dedd4bea2543", "xapp-1-A0APP-1-secret", "layout-yourself"],
    )
    def test_real_looking_values_are_not_placeholders(self, value: str) -> None:
        """Real Slack token shapes, a hex secret, and "your" inside a longer word are accepted."""
        assert not is_placeholder(value)

    @given(st.text(alphabet="0123456789abcdef", min_size=16, max_size=64), st.sampled_from(["", "xoxb-", "xapp-1-"]))
    def test_no_generated_hex_secret_is_a_placeholder(self, secret: str, prefix: str) -> None:
        """Hex secrets (as `openssl rand -hex` makes them), bare or after a Slack token prefix, are never refused."""
        assert not is_placeholder(prefix + secret)


def _env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.startswith("#")}


class TestEverySettingOnItsOwn:
    """read_settings validates each setting alone: one problem per bad one, its default in its place."""

    def test_each_bad_setting_is_one_problem_and_falls_back_to_its_default(self) -> None:
        settings, problems = read_settings(
            {"LOG_LEVEL": "verbose", "INCIDENT_STRICT_ROLES": "maybe", "LOG_FORMAT": "json"}, env_file=None
        )
        assert [(p.name, p.message) for p in problems] == [
            ("LOG_LEVEL", "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case), got 'verbose'."),
            ("INCIDENT_STRICT_ROLES", "INCIDENT_STRICT_ROLES must be true or false, got 'maybe'."),
        ]
        assert (settings.log_level, settings.strict_roles, settings.log_format) == ("INFO", False, "json")

    @pytest.mark.parametrize(("value", "expected"), [("debug", "DEBUG"), ("Warning", "WARNING"), ("", "INFO")])
    def test_log_level_is_a_standard_name_in_any_case(self, value: str, expected: str) -> None:
        assert load_settings({"LOG_LEVEL": value}, env_file=None).log_level == expected

    @pytest.mark.parametrize("value", ["verbose", "WARN", "10", "trace"])
    def test_other_log_levels_are_refused(self, value: str) -> None:
        with pytest.raises(ConfigError, match=r"^LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"):
            load_settings({"LOG_LEVEL": value}, env_file=None)
