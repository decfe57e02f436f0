"""The Compound scaling page's model: phi, alpha, beta and gamma in session state (no widget owns them) and in the URL
(``?phi=2&alpha=1.2&beta=1.1&gamma=1.15``; values at their default are left out), and the curve."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from explorer import scaling
from explorer.ui import state
from explorer.ui.messages import show_error
from explorer.ui.network import echo

URL_WRITTEN = "scaling.url_written"
CURVE_STEP = 0.01  # the curve's spacing in phi: 801 points over the slider, counted exactly in about 20 ms


@dataclass(frozen=True)
class Slider:
    """One of the page's sliders: its model key, label, range, step and default."""

    name: str
    label: str
    low: float
    high: float
    step: float
    default: float
    help: str

    @property
    def key(self) -> str:
        """Return the model key in session state."""
        return f"scaling.{self.name}"

    def valid(self, value: object) -> bool:
        """Return whether ``value`` is a number this slider can show."""
        return isinstance(value, (int, float)) and self.low <= value <= self.high


SLIDERS = [
    Slider("phi", "phi (compound coefficient)", -1.0, 7.0, 0.05, 0.0,
           "How many times to double the compute: depth x alpha^phi, width x beta^phi, resolution x gamma^phi."),
    Slider("alpha", "alpha (depth base)", 1.0, 2.0, 0.01, scaling.ALPHA, "The paper found 1.2 by a small grid search."),
    Slider("beta", "beta (width base)", 1.0, 2.0, 0.01, scaling.BETA, "The paper found 1.1."),
    Slider("gamma", "gamma (resolution base)", 1.0, 2.0, 0.01, scaling.GAMMA, "The paper found 1.15."),
]
CURVE_PHIS = scaling.curve_phis(SLIDERS[0].low, SLIDERS[0].high, CURVE_STEP)  # every integer phi exactly present


def _value(slider: Slider) -> float:
    value = st.session_state.get(slider.key, slider.default)
    return value if slider.valid(value) else slider.default


def apply_link() -> None:
    """Apply a URL the app did not write: each valid value replaces the model's; each other one gets a note."""
    params = st.query_params.to_dict()
    if not params or params == st.session_state.get(URL_WRITTEN):
        return
    for slider in SLIDERS:
        if slider.name not in params:
            continue
        text = params[slider.name]
        try:
            value = round(float(text[:32]), 2)
        except ValueError:
            value = None
        if value is None or not slider.valid(value):
            show_error(f"The link's {slider.name} must be a number from {slider.low:g} to {slider.high:g}, not "
                       f"{echo(text)}; it was ignored.")
        else:
            state.put(slider.key, value)
    st.session_state[URL_WRITTEN] = params


def write_url() -> None:
    """Make the URL show the page's values (those off their default)."""
    wanted = {s.name: f"{_value(s):g}" for s in SLIDERS if _value(s) != s.default}
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
    st.session_state[URL_WRITTEN] = wanted


def sliders() -> tuple[float, float, float, float]:
    """Draw phi, alpha, beta and gamma from the page's model (four columns); return their values, rounded to the step."""
    values = []
    for slider, column in zip(SLIDERS, st.columns(len(SLIDERS))):
        value = column.slider(slider.label, slider.low, slider.high, step=slider.step, help=slider.help,
                              **state.bind(slider.key, slider.default, slider.valid))
        values.append(round(float(value), 2))
    return tuple(values)  # type: ignore[return-value]


def curve(alpha: float, beta: float, gamma: float) -> list[scaling.ScalingPoint]:
    """Return the compound-scaling curve over the phi slider's range, every CURVE_STEP of phi.

    Counted, not built (explorer.scaling.exact_curve, equal to analyze() point for point): about 20 ms for new
    bases, so it needs neither a progress bar nor a cache, and it is dense enough to show every rounding step.
    """
    return scaling.exact_curve(alpha, beta, gamma, CURVE_PHIS)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_single_dimension(phi: float, alpha: float, beta: float, gamma: float) -> list[scaling.ScaledNetwork]:
    """Return explorer.scaling.single_dimension, kept per (phi, alpha, beta, gamma) for every session."""
    return scaling.single_dimension(phi, alpha, beta, gamma)
