import math

import pytest

from rnntui.tui.numbers import NumberRange
from rnntui.tui.persistence import REPLY_NUMBERS


def test_a_saved_value_and_the_same_value_typed_are_judged_alike():
    top_p = next(spec for spec in REPLY_NUMBERS if spec.name == "top_p")
    for value in (0, 1e-9, 0.5, 1, 1.0000001, -1, math.inf, math.nan):
        try:
            typed = top_p.parse(repr(value)) == value
        except ValueError:
            typed = False
        assert top_p.valid(value) is typed, value
    # JSON's true is not the number 1, and a whole number setting takes no fraction.
    length = next(spec for spec in REPLY_NUMBERS if spec.name == "length")
    assert not top_p.valid(True) and length.valid(500) and not length.valid(500.0) and not length.valid("500")


@pytest.mark.parametrize(("number_range", "good", "bad", "message"), [
    (NumberRange(int, 1, 65_536), " 64 ", "65537", "a whole number from 1 to 65,536"),
    (NumberRange(float, 0, 1, high_open=True), "0", "1", "a number in [0, 1)"),
    (NumberRange(float, 0, math.inf, low_open=True), "1e9", "0", "a number above 0"),
])
def test_a_value_out_of_range_is_refused_with_what_it_must_be(number_range, good, bad, message):
    with pytest.raises(ValueError) as refused:
        number_range.parse(bad)
    assert str(refused.value) == message
    assert number_range.fits(number_range.parse(good)) and not number_range.fits(float(bad))
