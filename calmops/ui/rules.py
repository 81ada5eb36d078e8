"""The Rules page's pieces: the company's threshold rules by metric family, with how many incidents
each family opened lately (a rule that never fires, or fires daily, shows here), and an edit form per
rule that says where its last change came from.
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
        "Edit a rule below (each change is versioned with who, when and why), or apply a threshold "
        "proposal from an incident's post-incident review. A rule fires when its condition holds for "
        "the time given, and recovers only once the value "
        "is back past the clear threshold (hysteresis) for the number of samples shown, so a value "
        "hovering at the line does not open and close incidents. Both tiers of a family share one "
        "incident per service; the higher tier raises its severity."
    )


def change_line(change: dict | None) -> str:
    """Where a rule's last change came from, in words (escaped)."""
    if not change:
        return ":gray[as shipped: one of the default rules]"
    who = f"v{change['version']} · {md(change['actor'])} · {md(change['at'])}"
    if change["source"] == "proposal":
        return f"{who} · applied from the review of incident #{change['incident_id']}"
    if change["source"] == "created":
        return f"{who} · created" + (f": {md(change['reason'])}" if change.get("reason") else "")
    return f"{who} · edited" + (f": {md(change['reason'])}" if change.get("reason") else "")


def edit_forms(company: str, rules: list[Rule], changes: dict[int, dict]) -> None:
    """An edit form per rule (validated by `calmops.review.rules`) for a lead; others read the rules."""
    from calmops import clock
    from calmops.auth import Permission
    from calmops.review import rules as rule_edit
    from calmops.review.backtest import what_if
    from calmops.store import cursor, get_db
    from calmops.ui import access
    from calmops.workflow.errors import WorkflowError

    st.markdown("#### :material/edit: Edit a rule")
    error = st.session_state.pop("rules_error", None)
    if error:
        st.error(md(error), icon=":material/error_outline:")
    flash = st.session_state.pop("rules_flash", None)
    if flash:
        st.success(md(flash), icon=":material/check_circle:")
    if not access.allowed(Permission.TUNE, company, what="change a rule"):
        for rule in rules:
            st.markdown(
                f"{md(rule.name)} :gray[· {md(rule.describe())}] — {change_line(changes.get(rule.id))}"
            )
        return
    name = access.actor()
    severities = [s.value for s in sorted(SEVERITY, key=lambda s: -s.rank)]
    for rule in rules:
        with st.expander(f"{rule.name} · {rule.describe()}", icon=":material/rule:"):
            st.caption(change_line(changes.get(rule.id)))
            with st.form(f"rule_edit_{rule.id}", border=False):
                left, right = st.columns(2)
                threshold = left.number_input(
                    f"Threshold ({rule.comparison})", value=float(rule.threshold), format="%g"
                )
                clear = right.number_input(
                    "Clear threshold (empty: the threshold)",
                    value=None if rule.clear_threshold is None else float(rule.clear_threshold),
                    format="%g",
                )
                for_s = left.number_input(
                    "For (seconds)", min_value=0, max_value=86_400, value=int(rule.for_s)
                )
                severity = right.selectbox(
                    "Severity", severities, index=severities.index(rule.severity.value)
                )
                enabled = st.checkbox("Enabled", value=rule.enabled)
                reason = st.text_input("Why (recorded with the change)")
                submitted = st.form_submit_button("Save rule", type="primary", icon=":material/save:")
            checked = st.session_state.get(f"rule_backtest_{rule.id}")
            values = (threshold, clear, int(for_s), severity, enabled, rule.version)
            if checked is not None:
                st.info(md(checked["text"]) + "  \n" + (
                    "Press **Save rule** again to apply it." if checked["values"] == values
                    else "The values changed since: saving shows the backtest of the new ones first."
                ), icon=":material/query_stats:")  # fmt: skip
            if submitted:
                if checked is None or checked["values"] != values:  # the backtest comes before the change
                    fields = {"threshold": threshold, "clear_threshold": clear, "for_s": int(for_s)}
                    try:
                        edited = rule_edit.changed(rule, fields)
                    except WorkflowError as exc:
                        st.session_state["rules_error"] = exc.message
                        st.rerun()
                    found = what_if(cursor(), company=company, rule=rule, edited=edited, until=clock.now())
                    st.session_state[f"rule_backtest_{rule.id}"] = {**found, "values": values}
                    st.rerun()
                try:
                    rule_edit.update_rule(
                        get_db(), company=company, rule_id=rule.id, expected_version=rule.version, actor=name,
                        reason=reason, threshold=threshold, clear_threshold=clear, for_s=int(for_s),
                        severity=severity, enabled=enabled,
                    )  # fmt: skip
                    st.session_state["rules_flash"] = f"Saved {rule.name} (version {rule.version + 1})."
                except WorkflowError as exc:
                    st.session_state["rules_error"] = access.refusal_text(exc)
                st.session_state.pop(f"rule_backtest_{rule.id}", None)
                st.rerun()


def new_rule_form(company: str, services: list[str]) -> None:
    """Add a rule: validated, backtested over the stored history, then saved on a second press."""
    from calmops import clock
    from calmops.auth import Permission
    from calmops.review import rules as rule_edit
    from calmops.review.backtest import would_fire
    from calmops.store import cursor, get_db
    from calmops.ui import access
    from calmops.workflow.errors import WorkflowError

    if not access.can(Permission.TUNE, company):
        return
    name = access.actor()
    with st.expander("Add a rule", icon=":material/add_circle:"):
        with st.form(f"rule_new_{company}", border=False):
            left, middle, right = st.columns(3)
            metric = left.selectbox("Metric", CANONICAL_METRICS, format_func=lambda m: metric_info(m).label)
            service = middle.selectbox("Service", ["every service", *services])
            comparison = right.selectbox("Comparison", [">", ">=", "<", "<="])
            threshold = left.number_input("Threshold", value=None, format="%g")
            clear = middle.number_input("Clear threshold (empty: the threshold)", value=None, format="%g")
            for_s = right.number_input("For (seconds)", min_value=0, max_value=86_400, value=300)
            severities = [s.value for s in sorted(SEVERITY, key=lambda s: -s.rank)]
            severity = left.selectbox("Severity", severities, index=severities.index("warning"))
            reason = st.text_input("Why (recorded with the rule)")
            submitted = st.form_submit_button("Add rule", type="primary", icon=":material/add:")
        key = f"rule_new_backtest_{company}"
        values = (metric, service, comparison, threshold, clear, int(for_s), severity)
        checked = st.session_state.get(key)
        if checked is not None:
            again = "Press **Add rule** again to add it." if checked["values"] == values else (
                "The values changed since: adding shows the backtest of the new ones first.")  # fmt: skip
            st.info(md(checked["text"]) + "  \n" + again, icon=":material/query_stats:")
        if not submitted:
            return
        fields = {"company": company, "metric": metric, "comparison": comparison, "threshold": threshold,
                  "severity": severity, "actor": name, "clear_threshold": clear, "for_s": int(for_s),
                  "service": None if service == "every service" else service, "reason": reason}  # fmt: skip
        try:
            if checked is None or checked["values"] != values:
                rule = rule_edit.create_rule(get_db(), **fields, dry_run=True)["rule"]
                found = would_fire(cursor(), company=company, rule=rule, until=clock.now())
                st.session_state[key] = {**found, "values": values}
            else:
                created = rule_edit.create_rule(get_db(), **fields)
                st.session_state.pop(key, None)
                st.session_state["rules_flash"] = f"Added {created['name']}."
        except WorkflowError as exc:
            st.session_state["rules_error"] = access.refusal_text(exc)
        st.rerun()
