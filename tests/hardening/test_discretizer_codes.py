"""Custom discretizers (issue 14, case 10): codes beyond int8 keep their distinct states or are refused."""

from __future__ import annotations

import numpy as np
import pytest

from relaywidgets import InputError
from relaywidgets.relay import find_relays
from relaywidgets.testing import planted_relay


@pytest.fixture(scope="module")
def rec():
    return planted_relay("and", n_nodes=4, n_samples=400)[0]


def _sign(scale, offset=0):
    return lambda h: (h > 0).astype(np.int64) * scale + offset


@pytest.mark.parametrize("scale, offset", [(256, 0), (1000, 7), (2**40, 0)])
def test_wide_codes_give_the_result_of_the_same_states_coded_0_1(rec, scale, offset):
    small = find_relays(rec, discretizer=_sign(1), n_perm=0, progress=False)
    wide = find_relays(rec, discretizer=_sign(scale, offset), n_perm=0, progress=False)
    assert float(small["total"].max()) > 0.05
    np.testing.assert_allclose(wide["total"].values, small["total"].values)
    np.testing.assert_array_equal(wide["is_relay"].values, small["is_relay"].values)


def test_more_states_than_the_codes_hold_or_negative_codes_are_refused(rec):
    with pytest.raises(InputError, match="negative code"):
        find_relays(rec, discretizer=lambda h: (h > 0).astype(np.int64) - 2, n_perm=0, progress=False)
    many = lambda h: np.arange(h.size, dtype=np.int64).reshape(h.shape) % 300  # noqa: E731
    with pytest.raises(InputError, match="300 distinct codes"):
        find_relays(rec, discretizer=many, n_perm=0, progress=False)
