"""Text inputs: trimmed, required when asked, bounded, and storable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import ValidationProblem, checked_text


def test_text_is_trimmed_and_bounded() -> None:
    assert checked_text("  Dr. Ada  ", "name") == "Dr. Ada"
    assert checked_text("", "reason", required=False) == ""
    with pytest.raises(ValidationProblem, match="must not be empty"):
        checked_text("   ", "name")
    with pytest.raises(ValidationProblem, match="at most 5 characters"):
        checked_text("abcdef", "name", 5)


@pytest.mark.parametrize("bad", ["a\x00b", "a\x07b", "a\x1bb", "a\x7fb", "a\ud800b", "a\x85b"])
def test_control_characters_and_lone_surrogates_are_refused(bad: str) -> None:
    with pytest.raises(ValidationProblem) as refused:
        checked_text(bad, "customerId")
    assert refused.value.field == "customerId" and f"U+{ord(bad[1]):04X}" in refused.value.message


def test_tabs_and_line_breaks_are_kept_inside_text() -> None:
    assert checked_text("first line\n\tsecond\r\nthird", "reason", 500) == "first line\n\tsecond\r\nthird"


@given(st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=50).filter(str.strip))
def test_printable_text_of_any_script_passes(text: str) -> None:
    assert checked_text(text, "name") == text.strip()
