"""The fidelity profile (sandbox/profile.py): its keys agree with the model, the settings and docs/FIDELITY.md's
generated table; defaults come from the settings; overrides are checked and merged."""

from __future__ import annotations

import os
import re
import typing
from pathlib import Path

import pytest
from enkash_sandbox import profile as profiles
from enkash_sandbox.config import Settings

FIDELITY = Path(__file__).resolve().parents[2] / "docs" / "FIDELITY.md"
START, END = "<!-- profile-table:start -->", "<!-- profile-table:end -->"


@pytest.fixture
def clean_settings(monkeypatch) -> Settings:
    """Settings as the code declares them, whatever the environment running the tests sets."""
    for name in list(os.environ):
        if name.startswith("ENKASH_SANDBOX_"):
            monkeypatch.delenv(name)
    return Settings()


def test_the_fidelity_table_is_the_generated_one(clean_settings):
    text = FIDELITY.read_text(encoding="utf-8")
    assert START in text and END in text, "docs/FIDELITY.md lost its profile-table markers"
    documented = text.split(START, 1)[1].split(END, 1)[0].strip()
    generated = profiles.profile_table(clean_settings)
    assert documented == generated, (
        "docs/FIDELITY.md's profile table is out of date; paste the output of\n"
        "python -c 'from enkash_sandbox import profile; from enkash_sandbox.config import Settings; "
        "print(profile.profile_table(Settings()))'"
    )


def test_every_key_is_a_model_field_and_a_setting_with_the_same_options(clean_settings):
    fields = profiles.Profile.model_fields
    assert [profiles._ALIASES[name] for name in fields] == [key.name for key in profiles.KEYS]
    for attribute, field in fields.items():
        key = profiles.BY_NAME[profiles._ALIASES[attribute]]
        assert key.setting in Settings.model_fields, key
        if key.options:
            assert typing.get_args(field.annotation) == key.options, key
        # the model's own default is the settings' default (a Profile() built anywhere agrees with the settings)
        assert profiles.defaults(clean_settings)[key.name] == field.default, key
        assert key.uat and key.summary, f"{key.name}: say what it chooses and why the default"


def test_defaults_follow_the_settings_and_the_environment(monkeypatch, clean_settings):
    monkeypatch.setenv("ENKASH_SANDBOX_PROFILE_SEARCH_BY_ID", "card")
    monkeypatch.setenv("ENKASH_SANDBOX_TOKEN_TTL_SECONDS", "300")
    monkeypatch.setenv("ENKASH_SANDBOX_ENVELOPE_STYLE", "code")
    chosen = profiles.resolve(Settings(), None)
    assert (chosen.search_by_id, chosen.token_ttl_seconds, chosen.envelope_style) == ("card", 300, "code")
    # the older boolean switch decides magicValues until the profile's own setting is given
    monkeypatch.setenv("ENKASH_SANDBOX_MAGIC_VALUES", "false")
    assert profiles.resolve(Settings(), None).magic_values == "off"
    monkeypatch.setenv("ENKASH_SANDBOX_PROFILE_MAGIC_VALUES", "header")
    assert profiles.resolve(Settings(), None).magic_values == "header"


def test_overrides_are_checked_normalised_and_merged(clean_settings):
    assert profiles.validate_overrides({"tokenTtlSeconds": "300", "searchById": "card"}) == {
        "tokenTtlSeconds": 300,
        "searchById": "card",
    }
    with pytest.raises(profiles.ProfileError, match=re.escape("unknown profile key(s) nope")):
        profiles.validate_overrides({"nope": 1})
    with pytest.raises(profiles.ProfileError, match=re.escape("(one of list, card)")):
        profiles.validate_overrides({"searchById": "bogus"})
    with pytest.raises(profiles.ProfileError, match="tokenTtlSeconds"):
        profiles.validate_overrides({"tokenTtlSeconds": 5})
    merged = profiles.resolve(clean_settings, {"otpResponse": "object"})
    assert merged.otp_response == "object" and merged.search_by_id == "list"
    # a stored choice the model no longer takes never locks a tenant out: the defaults apply
    assert profiles.resolve(clean_settings, {"searchById": "gone", "removedKey": 1}) == profiles.resolve(clean_settings, None)
    described = profiles.describe(clean_settings, {"balanceDebit": "allow"})
    assert described["overrides"] == ["balanceDebit"] and described["profile"]["balanceDebit"] == "allow"
    assert described["defaults"]["balanceDebit"] == "refuse"


def test_the_banner_says_which_token_lifetime_is_active(clean_settings):
    from enkash_sandbox.banner import render

    shown = render("http://x", None, "db", profile=profiles.resolve(clean_settings, {"tokenTtlSeconds": 300}).public())
    assert "tokenTtlSeconds 300 (the docs' 5 minutes)" in shown and "searchById=list" in shown
    assert "tokenTtlSeconds 86399 (the docs' example)" in render("http://x", None, "db", profile=profiles.Profile().public())
