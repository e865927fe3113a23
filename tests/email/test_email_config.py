"""E-mail settings: stored in the workspace, checked field by field, the password write-only;
checking addresses."""

from __future__ import annotations

import pytest

from siyu.core.errors import ConfigError, PermissionDenied, ValidationError
from siyu.core.permissions import Principal
from siyu.plugins.email.addresses import AddressError, check_address
from siyu.plugins.email.config import load_config, public_config, save_config


def test_settings_are_stored_and_the_password_is_kept_and_hidden(email_ws):
    config = save_config(email_ws, host=" smtp.example.com ", port="465", security="ssl",
                         username="shop@example.com", password="pa55",
                         from_address="shop@example.com", from_name="鲜花铺",
                         reply_to="service@example.com",
                         public_url="https://crm.example.com/", timeout="12.5")
    assert (config.host, config.port, config.security, config.effective_port) == \
        ("smtp.example.com", 465, "ssl", 465)
    assert config.public_url == "https://crm.example.com"
    assert config.timeout == 12.5
    assert save_config(email_ws, host="smtp2.example.com").password == "pa55"
    assert save_config(email_ws, password="").password == "pa55"
    shown = public_config(email_ws)
    assert shown["password"] == "set"
    assert "pa55" not in repr(shown)
    assert save_config(email_ws, port="").effective_port == 465  # back to the default
    assert load_config(email_ws).missing() == []


def test_defaults_and_what_is_missing(email_ws):
    config = load_config(email_ws)
    assert (config.security, config.effective_port, config.timeout) == ("starttls", 587, 30.0)
    assert config.missing() == ["host", "from_address", "public_url"]
    assert config.missing(campaigns=False) == ["host", "from_address"]


@pytest.mark.parametrize(("field", "value", "fragment"), [
    ("host", "smtp://mail.example.com", "host: 'smtp://mail.example.com' is not a server"),
    ("host", "mail example.com", "host:"),
    ("port", "abc", "port: 'abc' is not a port number"),
    ("port", 70000, "port: 70000"),
    ("security", "tls", "security: 'tls' is not one of starttls, ssl, none"),
    ("from_address", "shop", "from_address: 'shop' is not a valid e-mail address"),
    ("reply_to", "a@b", "reply_to: 'a@b' is not a valid e-mail address: the domain b"),
    ("public_url", "crm.example.com", "public_url: 'crm.example.com' must be an http://"),
    ("public_url", "https://x.com/?a=1", "public_url:"),
    ("timeout", 0, "timeout: 0 is not a number of seconds"),
    ("from_name", "a\nb", "from_name: one line"),
])
def test_a_bad_value_is_refused_naming_the_setting(email_ws, field, value, fragment):
    with pytest.raises(ValidationError, match="^" + fragment.replace("?", r"\?")):
        save_config(email_ws, **{field: value})
    assert email_ws.settings.get("email." + field) is None


def test_an_unknown_setting_is_named(email_ws):
    with pytest.raises(ConfigError, match="unknown e-mail setting.*hots"):
        save_config(email_ws, hots="smtp.example.com")


def test_a_password_is_not_sent_unencrypted_to_another_machine(email_ws):
    with pytest.raises(ValidationError, match="security: 'none' would send the password"):
        save_config(email_ws, host="smtp.example.com", security="none", username="u",
                    password="p")
    save_config(email_ws, host="127.0.0.1", security="none", username="u", password="p")


@pytest.mark.parametrize("role", ["operator", "analyst"])
def test_only_who_may_change_settings_may_change_these(email_ws, role):
    with pytest.raises(PermissionDenied):
        save_config(email_ws.as_user(Principal("someone", role)), host="smtp.example.com")


@pytest.mark.parametrize(("given", "expected"), [
    ("zhang@example.com", "zhang@example.com"),
    ("  Zhang.San+vip@Example.COM ", "Zhang.San+vip@example.com"),
    ("王@例子.中国", "王@xn--fsqu00a.xn--fiqs8s"),
])
def test_addresses_are_normalised(given, expected):
    assert check_address(given) == expected


@pytest.mark.parametrize(("given", "reason"), [
    ("", "the address is empty"),
    ("zhang", "an address has exactly one @"),
    ("a@b@c.com", "an address has exactly one @"),
    ("@example.com", "nothing before the @"),
    ("zhang@", "no domain after the @"),
    ("zhang@localhost", "the domain localhost is not valid"),
    ("zhang@-x.com", "the domain -x.com is not valid"),
    ("zh..ang@example.com", "the part before the @ is not valid"),
    ("zhang san@example.com", "an address may not contain spaces or line breaks"),
    ("Zhang <z@example.com>", "write the address alone"),
])
def test_bad_addresses_say_why(given, reason):
    with pytest.raises(AddressError, match="^" + reason):
        check_address(given)
