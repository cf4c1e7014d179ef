"""The estimator panel's alpha slider shows exactly the alpha the state computes with."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

from relaywidgets.widgets import EstimatorPanel, ExplorerState  # noqa: E402


@pytest.mark.parametrize("alpha", [0.5, 0.05, 0.2, 0.001, 0.0002, 0.999])
def test_alpha_slider_agrees_with_the_state(alpha):
    state = ExplorerState(alpha=alpha)
    panel = EstimatorPanel(state)
    assert panel.alpha.value == pytest.approx(alpha, rel=1e-12)
    assert state.alpha == alpha


def test_alpha_slider_follows_later_state_changes_and_pushes_back():
    state = ExplorerState()
    panel = EstimatorPanel(state)
    for alpha in (0.7, 0.00005, 0.05):
        state.alpha = alpha
        assert panel.alpha.value == pytest.approx(alpha, rel=1e-12)
    panel.alpha.value = 0.01
    assert state.alpha == pytest.approx(0.01)
