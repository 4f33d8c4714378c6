"""The performance chart of a portfolio, as PNG or SVG (matplotlib, Agg, no pyplot).

Top panel: the portfolio's value over the range, purchases marked, periods
without data shaded and hatched, the headline figures in a box. Bottom panel:
each holding's cumulative P&L, labelled with its contribution to the return.
Built with the object API (no pyplot global state), so threads may render
at once.
"""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.fonttype"] = "none"  # SVG text stays text: smaller, selectable, searchable

from coinstream_contract.vocabulary import INTERVAL_MS
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from .state import PortfolioState

VALUE_COLOR = "#1f4e99"
MISSING_COLOR = "#9e9e9e"
PALETTE = ["#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22", "#393b79"]
CONTENT_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _x(ms: int) -> Any:
    """An x coordinate: the datetime, which matplotlib's date converter turns into its numbers.
    Any, because matplotlib's type hints take only the converted floats."""
    return _dt(ms)


def _nan(values):
    return [math.nan if v is None else v for v in values]


def _money_formatter(ax) -> FuncFormatter:
    """Thousands separators; decimals only when the axis spans small amounts."""
    lo, hi = ax.get_ylim()
    decimals = 0 if hi - lo >= 20 else 2
    return FuncFormatter(lambda x, _pos: f"{x:,.{decimals}f}")


def _money(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.2f}" if abs(x) < 1e6 else f"{x:,.0f}"


def _pct(x: float | None, signed: bool = True) -> str:
    if x is None:
        return "n/a"
    return f"{x * 100:+.2f}%" if signed else f"{x * 100:.2f}%"


def _missing_runs(state: PortfolioState) -> list[tuple[int, int]]:
    """(first, last) point indices of each run of points without a value."""
    runs, start = [], None
    for i, v in enumerate(state.series.value):
        if v is None and start is None:
            start = i
        if v is not None and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(state.series.value) - 1))
    return runs


def _invested_series(state: PortfolioState) -> list[float | None]:
    """Start value plus purchases so far, at each valued point: what the value line is compared with."""
    f, s = state.figures, state.series
    out: list[float | None] = []
    for i, v in enumerate(s.value):
        if v is None or f.start_value is None:
            out.append(None)
            continue
        pnl = sum(p for series in s.coin_pnl.values() if (p := series[i]) is not None)
        out.append(v - pnl)  # value - P&L so far = start value + purchases so far
    return out


def _title(state: PortfolioState, stale: bool) -> tuple[str, str]:
    p = state.portfolio
    span = f"{_dt(p.from_):%Y-%m-%d %H:%M} to {_dt(p.to):%Y-%m-%d %H:%M} UTC"
    title = f"Portfolio {p.id}: value in {p.vs_currency.upper()}, {span} ({p.interval})"
    if state.complete:
        sub = "complete: every price in the range is known"
    else:
        sub = f"pending: {state.fraction * 100:.1f}% of coin-periods known, backfill requested for the rest"
    if stale:
        sub += f"  |  STALE, as of {_dt(state.as_of_ms):%Y-%m-%d %H:%M:%S} UTC"
    return title, sub


def _draw_summary(ax, state: PortfolioState) -> None:
    """The side panel: the total return large, then the other figures and each holding."""
    ax.axis("off")
    f, vs = state.figures, state.portfolio.vs_currency.upper()
    if f.pnl is None:
        ax.text(
            0.0,
            1.0,
            "No prices known yet.\nBackfill requested;\nthis chart fills in\nas data lands.",
            va="top",
            fontsize=12,
            transform=ax.transAxes,
        )
        return
    color = "#1a7f37" if (f.total_return or 0) >= 0 else "#c62828"
    ax.text(0.0, 1.0, "Total return", va="top", fontsize=11, color="#555555", transform=ax.transAxes)
    ax.text(
        0.0, 0.955, _pct(f.total_return), va="top", fontsize=26, fontweight="bold", color=color, transform=ax.transAxes
    )
    ax.text(0.0, 0.875, f"P&L {f.pnl:+,.2f} {vs}", va="top", fontsize=11, color=color, transform=ax.transAxes)
    rows = [
        ("start value", f"{_money(f.start_value)}"),
        ("end value", f"{_money(f.end_value)}"),
    ]
    if f.purchases:
        rows.append(("bought in range", f"{_money(f.purchases)}"))
    rows += [
        ("time-weighted", _pct(f.time_weighted_return)),
        ("max drawdown", _pct(-f.max_drawdown) if f.max_drawdown else "0.00%"),
        ("volatility (ann.)", _pct(f.volatility_annualised, signed=False)),
    ]
    y = 0.80
    for label, value in rows:
        ax.text(0.0, y, label, va="top", fontsize=10, color="#555555", transform=ax.transAxes)
        ax.text(1.0, y, value, va="top", ha="right", fontsize=10, family="monospace", transform=ax.transAxes)
        y -= 0.045
    y -= 0.03
    ax.text(0.0, y, f"P&L by holding ({vs})", va="top", fontsize=10, fontweight="bold", transform=ax.transAxes)
    y -= 0.05
    for n, (coin, cf) in enumerate(sorted(f.coins.items())):
        if y < 0.02:
            ax.text(0.0, y, f"... {len(f.coins) - n} more", va="top", fontsize=9, transform=ax.transAxes)
            break
        ax.text(
            0.0,
            y,
            coin,
            va="top",
            fontsize=10,
            color=PALETTE[n % len(PALETTE)],
            fontweight="bold",
            transform=ax.transAxes,
        )
        contrib = f"{cf.contribution * 100:+.2f} pp" if cf.contribution is not None else "n/a"
        ax.text(
            1.0,
            y,
            f"{cf.pnl:+,.0f}  {contrib}",
            va="top",
            ha="right",
            fontsize=9,
            family="monospace",
            transform=ax.transAxes,
        )
        y -= 0.045


def build_figure(state: PortfolioState, stale: bool = False) -> Figure:
    p = state.portfolio
    step = INTERVAL_MS[p.interval]
    xs = [_x(t) for t in state.series.ts]
    fig = Figure(figsize=(13, 7.5), layout="constrained")
    gs = fig.add_gridspec(2, 2, height_ratios=(3, 2), width_ratios=(4.3, 1))
    ax = fig.add_subplot(gs[0, 0])
    ax_pnl = fig.add_subplot(gs[1, 0], sharex=ax)
    _draw_summary(fig.add_subplot(gs[:, 1]), state)
    title, sub = _title(state, stale)
    fig.suptitle(f"{title}\n{sub}", fontsize=12, fontweight="bold", ha="left", x=0.01)

    values = _nan(state.series.value)
    ax.plot(
        xs,
        values,
        color=VALUE_COLOR,
        linewidth=2.0,
        label="portfolio value",
        marker="o" if len(xs) <= 40 else None,
        markersize=3,
    )
    invested = _invested_series(state)
    if any(v is not None for v in invested) and state.figures.purchases:
        ax.step(
            xs,
            _nan(invested),
            where="post",
            color="#777777",
            linestyle="--",
            linewidth=1.2,
            label="invested (start value + purchases)",
        )
    known = [v for v in values if not math.isnan(v)]
    if known:
        floor = min(known) - 0.05 * (max(known) - min(known) or abs(min(known)) or 1.0)
        ax.fill_between(xs, values, floor, color=VALUE_COLOR, alpha=0.08)
        ax.set_ylim(bottom=floor)  # after every line is drawn: keeps the autoscaled top
    else:
        for a in (ax, ax_pnl):
            a.set_yticks([])
    handles, labels = ax.get_legend_handles_labels()

    runs = _missing_runs(state)
    for a in (ax, ax_pnl):
        for first, last in runs:
            a.axvspan(
                _x(state.series.ts[first] - step // 2),
                _x(state.series.ts[last] + step // 2),
                facecolor=MISSING_COLOR,
                alpha=0.25,
                hatch="///",
                edgecolor=MISSING_COLOR,
                linewidth=0,
            )
    if runs:
        handles.append(Patch(facecolor=MISSING_COLOR, alpha=0.35, hatch="///", edgecolor=MISSING_COLOR))
        labels.append("no data yet (backfill pending)")

    for h in p.holdings:
        if h.acquired_at is not None and p.from_ < h.acquired_at <= p.to:
            for a in (ax, ax_pnl):
                a.axvline(_x(h.acquired_at), color="#444444", linestyle=":", linewidth=1.2)
            ax.annotate(
                f"buy {h.amount:g} {h.coin}",
                xy=(_x(h.acquired_at), 0.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, 4),
                textcoords="offset points",
                fontsize=8,
                color="#444444",
                rotation=0,
            )

    ax.set_ylabel(f"value ({p.vs_currency.upper()})")
    ax.yaxis.set_major_formatter(_money_formatter(ax))
    ax.grid(True, alpha=0.3)
    ax.legend(handles, labels, loc="best", fontsize=9, framealpha=0.9)
    ax.tick_params(labelbottom=False)

    ax_pnl.axhline(0.0, color="#333333", linewidth=0.8)
    for n, (coin, series) in enumerate(sorted(state.series.coin_pnl.items())):
        cf = state.figures.coins.get(coin)
        contrib = f"{cf.contribution * 100:+.2f} pp" if cf and cf.contribution is not None else "n/a"
        ax_pnl.plot(xs, _nan(series), color=PALETTE[n % len(PALETTE)], linewidth=1.6, label=f"{coin}  {contrib}")
    ax_pnl.set_ylabel(f"P&L by holding ({p.vs_currency.upper()})")
    ax_pnl.yaxis.set_major_formatter(_money_formatter(ax_pnl))
    ax_pnl.grid(True, alpha=0.3)
    if 0 < len(state.series.coin_pnl) <= 5:  # with more, the side panel's coloured names are the legend
        ax_pnl.legend(
            loc="best",
            fontsize=9,
            framealpha=0.9,
            title="contribution to return",
            title_fontsize=9,
            ncols=min(3, max(1, len(state.series.coin_pnl) // 4 + 1)),
        )
    locator = AutoDateLocator()
    ax_pnl.xaxis.set_major_locator(locator)
    ax_pnl.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax_pnl.set_xlim(_x(p.from_), _x(p.to))
    ax_pnl.set_xlabel("time (UTC)")
    return fig


def render(state: PortfolioState, fmt: str, stale: bool = False) -> bytes:
    """The chart as PNG or SVG bytes."""
    if fmt not in CONTENT_TYPES:
        raise ValueError(f"unknown chart format {fmt!r}")
    fig = build_figure(state, stale)
    FigureCanvasAgg(fig)  # attach a canvas (no pyplot): savefig picks the format's own for SVG
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=110, metadata={"Software": "coinstream"} if fmt == "png" else None)
    return buf.getvalue()
