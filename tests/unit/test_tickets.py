"""The one-time tickets that carry a new session to the browser that signed in, and only to it."""

from __future__ import annotations

from calmops.auth import tickets


def _xsrf(token: bytes, mask: bytes) -> str:
    """A Streamlit ``_streamlit_xsrf`` cookie value (version 2: the token XOR a 4-byte mask)."""
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(token))
    return f"2|{mask.hex()}|{masked.hex()}|1795757424"


def test_the_xsrf_cookie_names_one_browser_whatever_its_mask() -> None:
    token = bytes(range(16))
    first, again = _xsrf(token, b"\x01\x02\x03\x04"), _xsrf(token, b"\xaa\xbb\xcc\xdd")
    assert first != again and tickets.browser_token(first) == tickets.browser_token(again) == token
    assert tickets.browser_token(None) is None and tickets.browser_token("2|zz|zz|1") is None


def test_a_ticket_opens_once_and_only_in_the_browser_that_signed_in() -> None:
    mine, theirs = tickets.browser_token(_xsrf(b"m" * 16, b"abcd")), b"t" * 16
    ticket = tickets.issue("session-value", browser=mine)
    assert tickets.redeem(ticket, browser=theirs) is None  # a link handed to someone else
    assert tickets.redeem(ticket, browser=None) is None
    assert tickets.redeem(ticket, browser=mine) == "session-value"  # still good for its own browser
    assert tickets.redeem(ticket, browser=mine) is None  # once
    assert tickets.state(ticket) == "redeemed"
    loose = tickets.issue("other", browser=None)  # no XSRF cookie known (e.g. XSRF protection off)
    assert tickets.redeem(loose, browser=theirs) == "other"
    assert tickets.redeem("never-issued", browser=mine) is None


def test_a_ticket_expires() -> None:
    ticket = tickets.issue("session-value", ttl_s=-1)
    assert tickets.redeem(ticket) is None and tickets.state(ticket) == "gone"
