"""Webhook signatures, the retry schedule and notification request ranges, as pure functions."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import ValidationProblem
from domain.notifications import check_request_range, search_window
from domain.webhooks import checked_url, retry_delay, signature, verify

NOW = datetime(2027, 3, 1, 12, tzinfo=UTC)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"type":"availability.opened"}'
    expected = hmac.new(b"whsec-0123456789abcdef", b"1803902400." + body, hashlib.sha256).hexdigest()
    assert signature("whsec-0123456789abcdef", 1803902400, body) == f"sha256={expected}"


def test_verify_refuses_other_secrets_bodies_and_stale_or_malformed_timestamps() -> None:
    stamp = int(NOW.timestamp())
    signed = signature("s" * 16, stamp, b"{}")
    assert verify("s" * 16, str(stamp), b"{}", signed, NOW + timedelta(seconds=30))
    assert not verify("t" * 16, str(stamp), b"{}", signed, NOW)
    assert not verify("s" * 16, str(stamp), b"{ }", signed, NOW)
    assert not verify("s" * 16, str(stamp + 1), b"{}", signed, NOW)  # the timestamp is signed too
    assert not verify("s" * 16, str(stamp), b"{}", signed, NOW + timedelta(minutes=6))
    assert not verify("s" * 16, str(stamp), b"{}", signed, NOW - timedelta(minutes=6))
    assert not verify("s" * 16, "yesterday", b"{}", signed, NOW)


@given(attempts=st.integers(1, 40), jitter=st.floats(0, 1, exclude_max=True))
def test_retries_back_off_exponentially_with_jitter_up_to_a_cap(attempts: int, jitter: float) -> None:
    delay = retry_delay(attempts, 2.0, 3600.0, jitter).total_seconds()
    ceiling = min(3600.0, 2.0 * 2 ** (attempts - 1))
    assert ceiling / 2 <= delay <= ceiling
    assert retry_delay(attempts + 1, 2.0, 3600.0, jitter) >= retry_delay(attempts, 2.0, 3600.0, jitter)


@pytest.mark.parametrize(
    "url",
    ["https://partner.example/hooks", "http://127.0.0.1:8080/in?x=1", " https://a.example/ "],
)
def test_http_urls_are_webhooks(url: str) -> None:
    assert checked_url(url) == url.strip()


@pytest.mark.parametrize(
    "url",
    ["", "partner.example/hooks", "ftp://a.example/", "https:///x", "https://u:p@a.example/", "http://a:0/"],
)
def test_other_urls_are_not(url: str) -> None:
    with pytest.raises(ValidationProblem) as problem:
        checked_url(url)
    assert problem.value.field == "url"


def test_a_request_window_starts_now_and_ends_after_its_last_date() -> None:
    zone = ZoneInfo("America/Los_Angeles")
    start, end = search_window(date(2027, 3, 1), date(2027, 3, 2), zone, NOW) or (None, None)
    assert start == NOW and end == datetime(2027, 3, 3, 8, tzinfo=UTC)
    assert search_window(date(2027, 2, 27), date(2027, 2, 28), zone, NOW) is None
    check_request_range(date(2027, 3, 1), date(2027, 5, 29), date(2027, 3, 1))  # 90 days
    with pytest.raises(ValidationProblem):
        check_request_range(date(2027, 3, 1), date(2027, 5, 30), date(2027, 3, 1))
