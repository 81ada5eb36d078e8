"""The Rules page's pieces: the company's threshold rules by metric family, read-only for now, with
how many incidents each family opened lately (a rule that never fires, or fires daily, shows here).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st

from calmops.detect.rules import Rule
from calmops.store.db import Cursor
from calmops.ui.style import SEVERITY, md
from calmops.vocabulary import CANONICAL_METRICS, format_value, metric_info

RECENT = timedelta(days=14)
NOT = {">": "≤", ">=": "<", "<": "≥", "<=": ">"}  # the side of the clear threshold that recovers


def incidents_by_family(
    cur: Cursor, *, company: str, now: datetime, within: timedelta = RECENT
) -> dict[str, int]:
    """How many incidents each rule family opened since ``now - within``."""
    rows = cur.execute(
        "SELECT rule_family, count(*) FROM incidents "
        "WHERE company = ? AND rule_family IS NOT NULL AND detected_at >= ? GROUP BY rule_family",
        [company, now - within],
    ).fetchall()
    return {family: n for family, n in rows}


def families(rules: list[Rule]) -> dict[str, list[Rule]]:
    """Rules grouped by family, in the vocabulary's order (up, errors, latency… first), each family's
    tiers mildest first (the order they fire in)."""
    order = {m: i for i, m in enumerate(CANONICAL_METRICS)}
    grouped: dict[str, list[Rule]] = {}
    for rule in rules:
        grouped.setdefault(rule.family, []).append(rule)
    return {
        family: sorted(group, key=lambda r: (r.severity.rank, r.threshold, r.id or 0))
        for family, group in sorted(grouped.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    }


def _number(metric: str, value: float) -> str:
    """The raw threshold, and how an operator reads it when that is more than a unit (``0.02 (2.0%)``)."""
    raw = f"{value:g}"
    shown = format_value(metric, value)
    bare = shown.removesuffix(metric_info(metric).unit).rstrip(" %").replace(",", "")
    try:
        same = float(bare) == value
    except ValueError:
        same = True  # a word such as "down": the raw number says more
    return raw if same else f"{raw} ({shown})"


def rule_line(rule: Rule) -> str:
    """One rule in words: severity badge, condition, recovery, scope; a disabled one is greyed."""
    look = SEVERITY[rule.severity]
    condition = md(rule.describe())
    readable = _number(rule.metric, rule.threshold)
    hint = f" :gray[{md(readable[readable.index('(') :])}]" if "(" in readable else ""
    clear = rule.threshold if rule.clear_threshold is None else rule.clear_threshold
    samples = "sample" if rule.recovery_count == 1 else "samples"
    recovery = (
        f"clears at {NOT[rule.comparison]} {md(_number(rule.metric, clear))} "
        f"for {rule.recovery_count} {samples}"
    )
    scope = f"on {md(rule.service)} only" if rule.service else "on all services"
    badge = f":{look.badge}-badge[{look.icon} {look.label}]"
    if not rule.enabled:
        return f":gray-badge[disabled] :gray[{look.label} · {condition}{hint} · {recovery} · {scope}]"
    return f"{badge} **{condition}**{hint}  \n:small[:gray[{recovery} · {scope}]]"


def family_card(family: str, rules: list[Rule], opened: int) -> None:
    info = metric_info(rules[0].metric)
    name = f"`{family}`" if "`" not in family else md(family)
    st.markdown(f"**{md(info.label)}** &nbsp; :gray[{name}]")
    word = "incident" if opened == 1 else "incidents"
    colour = "orange" if opened else "gray"
    st.caption(
        f":{colour}[:material/report: {opened} {word} in the last 14 days] · {md(info.description)}",
        help="Incidents this family of rules opened (detected) in the last 14 days",
    )
    st.markdown("\n\n".join(rule_line(r) for r in rules))


def rule_cards(rules: list[Rule], opened: dict[str, int]) -> None:
    """A card per metric family, in a grid that reflows with the window width."""
    grid = st.grid("auto", min_column_width=320, border=True, gap="small")
    for family, group in families(rules).items():
        with grid.cell():
            family_card(family, group, opened.get(family, 0))


def summary(rules: list[Rule], opened: dict[str, int]) -> None:
    enabled = sum(1 for r in rules if r.enabled)
    total = sum(opened.get(f, 0) for f in families(rules))
    disabled = f", {len(rules) - enabled} disabled" if enabled < len(rules) else ""
    st.markdown(
        f"**{len(rules)} rules** in {len(families(rules))} families{disabled} · "
        f"{total} incident{'' if total == 1 else 's'} opened by them in the last 14 days"
    )
    st.caption(
        ":material/lock: Read-only for now: editing rules arrives with the operator workflow. "
        "A rule fires when its condition holds for the time given, and recovers only once the value "
        "is back past the clear threshold (hysteresis) for the number of samples shown, so a value "
        "hovering at the line does not open and close incidents. Both tiers of a family share one "
        "incident per service; the higher tier raises its severity."
    )
