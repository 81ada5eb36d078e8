"""The Services page's pieces: the catalogue, the dependency graph coloured by health, and the
forms that register a service or a company.

The graph is drawn by hand in Plotly (no graph library): services sit in layers by dependency
depth — stores, caches and outside systems at the bottom, what depends on them above, front ends
on top — so every arrow points down, from a service to what it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from calmops import clock, runtime
from calmops.companies import (
    AlreadyExistsError,
    InvalidError,
    Service,
    add_company,
    list_services,
    register_service,
)
from calmops.config import settings
from calmops.errors import WorkflowError
from calmops.health.models import CompanyHealth, ServiceHealth
from calmops.health.service import company_health
from calmops.store import cursor
from calmops.ui import access, forms, frame
from calmops.ui.style import HEALTH, md, rgba
from calmops.vocabulary import HealthStatus, ServiceKind

BASE_KINDS = (ServiceKind.DATABASE, ServiceKind.CACHE, ServiceKind.QUEUE, ServiceKind.EXTERNAL)
KIND_ORDER = {k: i for i, k in enumerate((*BASE_KINDS, ServiceKind.OTHER, ServiceKind.WORKER))}
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": False}
NODE_SIZE = 26
RING = "#1f3b5c"  # customer-facing services wear a dark ring
EDGE = "#9aa5b1"
LAYER_PX = 150
SWEEPS = 4
STAGGER_OVER = 6  # a layer with more services than this zigzags
STAGGER = 0.3  # by this fraction of a layer
ROW_PX = 35
VISIBLE_ROWS = 16

SERVICE_FIELDS = {
    "service": "Name",
    "kind": "Kind",
    "depends_on": "Depends on",
    "customer_facing": "Customer-facing",
    "description": "Description",
    "company": "Company",
}
COMPANY_FIELDS = {"company": "Slug", "name": "Name"}


def _key(name: str) -> str:
    return f"svc_{name}"


# --- the graph, as plain data first (testable without a browser)


@dataclass(frozen=True)
class Node:
    service: str
    kind: str
    customer_facing: bool
    status: HealthStatus
    layer: int
    x: float
    y: float
    reasons: tuple[str, ...] = ()


def layers(services: list[Service]) -> dict[str, int]:
    """Each service's layer, 0 at the bottom: stores and outside systems that need nothing sit at 0,
    anything else at least at 1, and every service one above its highest upstream (no loops exist:
    registration refuses them)."""
    by_name = {s.service: s for s in services}
    memo: dict[str, int] = {}

    def level(name: str, trail: frozenset[str]) -> int:
        if name in memo:
            return memo[name]
        service = by_name[name]
        floor = 0 if service.kind in BASE_KINDS else 1
        ups = [u for u in service.depends_on if u in by_name and u not in trail]
        memo[name] = max([floor, *(level(u, trail | {name}) + 1 for u in ups)])
        return memo[name]

    return {name: level(name, frozenset()) for name in by_name}


def _order(services: list[Service], layer_of: dict[str, int]) -> dict[str, float]:
    """x positions: each layer evenly spread and centred, its order chosen by barycentre sweeps
    (a service near what it depends on and near what depends on it) so arrows cross less."""
    ups = {s.service: [u for u in s.depends_on if u in layer_of] for s in services}
    downs: dict[str, list[str]] = {s.service: [] for s in services}
    for name, upstreams in ups.items():
        for upstream in upstreams:
            downs[upstream].append(name)
    kinds = {s.service: s.kind for s in services}
    rows: dict[int, list[str]] = {}
    for name in sorted(layer_of, key=lambda n: (KIND_ORDER.get(kinds[n], len(KIND_ORDER)), n)):
        rows.setdefault(layer_of[name], []).append(name)

    def spread(row: list[str]) -> dict[str, float]:
        return {name: i - (len(row) - 1) / 2 for i, name in enumerate(row)}

    x: dict[str, float] = {}
    for row in rows.values():
        x.update(spread(row))

    def resort(layer: int, neighbours: dict[str, list[str]]) -> None:
        row = rows[layer]

        def centre(name: str) -> float:
            near = neighbours[name]
            return sum(x[n] for n in near) / len(near) if near else x[name]

        rows[layer] = sorted(row, key=lambda n: (centre(n), x[n]))
        x.update(spread(rows[layer]))

    top = max(rows, default=0)
    for _ in range(SWEEPS):
        for layer in range(1, top + 1):
            if layer in rows:
                resort(layer, ups)
        for layer in range(top - 1, -1, -1):
            if layer in rows:
                resort(layer, downs)
    edges = [(name, upstream) for name, upstreams in ups.items() for upstream in upstreams]
    for _ in range(SWEEPS):
        if not any(_improve(row, edges, x) for row in rows.values()):
            break
    near = {name: ups[name] + downs[name] for name in ups}
    half = max((len(row) - 1) / 2 for row in rows.values())
    for row in rows.values():
        if (len(row) - 1) / 2 < half:
            _pull(row, near, x, half)
    return x


def _pull(row: list[str], near: dict[str, list[str]], x: dict[str, float], half: float) -> None:
    """Move a narrower layer's services over what they connect to (a lone front end straight above
    its API), keeping their order, a gap of one, and the widest layer's bounds."""
    want = [sum(x[n] for n in near[name]) / len(near[name]) if near[name] else x[name] for name in row]
    pos: list[float] = []
    for w in want:
        pos.append(max(w, pos[-1] + 1) if pos else max(w, -half))
    for i in range(len(pos) - 1, -1, -1):
        pos[i] = min(pos[i], half if i == len(pos) - 1 else pos[i + 1] - 1)
    x.update(zip(row, pos, strict=True))


def crossings(edges: list[tuple[str, str]], x: dict[str, float]) -> int:
    """Pairs of arrows that cross (both ends of one left of the other's, or the reverse)."""
    count = 0
    for i, (a, b) in enumerate(edges):
        for c, d in edges[i + 1 :]:
            if len({a, b, c, d}) == 4 and (x[a] - x[c]) * (x[b] - x[d]) < 0:
                count += 1
    return count


def _improve(row: list[str], edges: list[tuple[str, str]], x: dict[str, float]) -> bool:
    """Swap neighbours in one layer while that uncrosses arrows; True if anything moved."""
    moved = False
    for i in range(len(row) - 1):
        before = crossings(edges, x)
        left, right = row[i], row[i + 1]
        x[left], x[right] = x[right], x[left]
        if crossings(edges, x) < before:
            row[i], row[i + 1] = right, left
            moved = True
        else:
            x[left], x[right] = x[right], x[left]
    return moved


def graph_nodes(services: list[Service], health: CompanyHealth | None) -> list[Node]:
    """The services placed in layers and ordered within them, with their health now."""
    states: dict[str, ServiceHealth] = {s.service: s for s in health.services} if health else {}
    layer_of = layers(services)
    x = _order(services, layer_of)
    y = {name: float(layer) for name, layer in layer_of.items()}
    for layer in set(layer_of.values()):
        row = sorted((n for n in layer_of if layer_of[n] == layer), key=x.__getitem__)
        if len(row) > STAGGER_OVER:  # a crowded layer zigzags, so neighbouring names never overlap
            for name in row[1::2]:
                y[name] += STAGGER
    nodes = []
    for s in services:
        state = states.get(s.service)
        status = state.status if state else HealthStatus.UNKNOWN
        reasons = state.reasons if state else ("no health data yet",)
        layer = layer_of[s.service]
        nodes.append(
            Node(
                s.service, s.kind.value, s.customer_facing, status, layer, x[s.service], y[s.service], reasons
            )
        )
    return nodes


def _hover(node: Node) -> str:
    facing = " · customer-facing" if node.customer_facing else ""
    why = "".join(f"<br>{escape(r)}" for r in node.reasons[:3] if node.status != HealthStatus.OK)
    return (
        f"<b>{escape(node.service)}</b><br>{escape(node.kind)}{facing}"
        f"<br>Status: {HEALTH[node.status].label}{why}"
    )


def _legend_entry(name: str, fill: str, ring: str) -> go.Scatter:
    """A legend-only marker: the nodes' own traces would show the first node's ring."""
    return go.Scatter(
        x=[None], y=[None], mode="markers", name=name, hoverinfo="skip",
        marker={"size": 12, "color": fill, "line": {"color": ring, "width": 3 if ring == RING else 1}},
    )  # fmt: skip


def graph_figure(services: list[Service], health: CompanyHealth | None) -> go.Figure:
    """Nodes coloured by health, customer-facing ones ringed; an arrow from each service to each
    service it depends on."""
    nodes = graph_nodes(services, health)
    at = {n.service: n for n in nodes}
    fig = go.Figure()
    for status in HealthStatus:
        chosen = [n for n in nodes if n.status == status]
        if not chosen:
            continue
        look = HEALTH[status]
        fig.add_trace(
            go.Scatter(
                x=[n.x for n in chosen],
                y=[n.y for n in chosen],
                mode="markers+text",
                name=look.label,
                showlegend=False,
                text=[n.service for n in chosen],
                textposition="bottom center",
                textfont={"size": 13},
                hovertext=[_hover(n) for n in chosen],
                hoverinfo="text",
                marker={
                    "size": NODE_SIZE,
                    "color": look.hex,
                    "line": {
                        "color": [RING if n.customer_facing else "white" for n in chosen],
                        "width": [4 if n.customer_facing else 2 for n in chosen],
                    },
                },
            )
        )
        fig.add_trace(_legend_entry(look.label, look.hex, "white"))
    if any(n.customer_facing for n in nodes):
        fig.add_trace(_legend_entry("customer-facing", "white", RING))
    for s in services:
        for upstream in s.depends_on:
            if upstream not in at:
                continue
            start, end = at[s.service], at[upstream]
            troubled = end.status in (HealthStatus.DOWN, HealthStatus.DEGRADED)
            colour = rgba(HEALTH[end.status].hex, 0.75) if troubled else EDGE
            fig.add_annotation(
                x=end.x, y=end.y, ax=start.x, ay=start.y,
                xref="x", yref="y", axref="x", ayref="y",
                showarrow=True, arrowhead=2, arrowsize=1.1, arrowcolor=colour,
                arrowwidth=1.6 if troubled else 1.2,
                standoff=NODE_SIZE / 2 + 3, startstandoff=NODE_SIZE / 2 + 18, text="",
            )  # fmt: skip
    widest = max((abs(n.x) for n in nodes), default=0)
    top = max((n.y for n in nodes), default=0)
    low = min((n.y for n in nodes), default=0)
    hidden = {"visible": False, "fixedrange": True, "zeroline": False, "showgrid": False}
    fig.update_layout(
        height=round(LAYER_PX * (top - low + 1)) + 90,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        showlegend=True,
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "title": {"text": ""}},
        xaxis={**hidden, "range": [-widest - 0.7, widest + 0.7]},
        yaxis={**hidden, "range": [low - 0.55, top + 0.3]},
        hoverlabel={"align": "left"},
        dragmode=False,
    )
    return fig


# --- the page's panels


def read_health(company: str) -> CompanyHealth:
    """The company's health now, judged exactly as the Health page judges it."""
    return company_health(
        cursor(),
        company=company,
        interval_s=settings().collect_interval_s,
        now=clock.now(),
        collector=runtime.collector_state(),
    )


def dependants(services: list[Service]) -> dict[str, list[str]]:
    """Who depends on each service: what suffers when it does."""
    out: dict[str, list[str]] = {s.service: [] for s in services}
    for s in services:
        for upstream in s.depends_on:
            out.setdefault(upstream, []).append(s.service)
    return {name: sorted(names) for name, names in out.items()}


def catalogue_frame(services: list[Service], health: CompanyHealth | None) -> pd.DataFrame:
    """One row per service: its health, what it is, what it needs and what needs it."""
    states = {s.service: s for s in health.services} if health else {}
    needed_by = dependants(services)
    rows = []
    for s in services:
        state = states.get(s.service)
        status = state.status if state else HealthStatus.UNKNOWN
        rows.append(
            {
                "Service": s.service,
                "Health": [HEALTH[status].label],
                "Kind": s.kind.value,
                "Customer-facing": s.customer_facing,
                "Depends on": ", ".join(s.depends_on) or "—",
                "Dependants": ", ".join(needed_by.get(s.service, ())) or "—",
                "Description": s.description,
            }
        )
    return pd.DataFrame(rows)


def _column_config() -> dict:
    return {
        "Service": st.column_config.TextColumn("Service", width=140),
        "Health": st.column_config.MultiselectColumn(
            "Health",
            options=[look.label for look in HEALTH.values()],
            color=[look.badge for look in HEALTH.values()],
            disabled=True,
            width=90,
        ),
        "Kind": st.column_config.TextColumn("Kind", width=75),
        "Customer-facing": st.column_config.CheckboxColumn(
            "Customer-facing", width=105, help="Customers notice directly when it is in trouble"
        ),
        "Depends on": st.column_config.TextColumn("Depends on", width=170, help="What it needs to work"),
        "Dependants": st.column_config.TextColumn(
            "Dependants", width=170, help="What suffers when it is in trouble"
        ),
        "Description": st.column_config.TextColumn("Description"),
    }


def _overview(company: str) -> None:
    services = list_services(cursor(), company=company)
    if not services:
        st.info(
            "**No services registered yet.** Register the first one below; its health appears once "
            "a target is probed (Targets page) or it pushes snapshots.",
            icon=":material/hub:",
        )
        return
    health = read_health(company)
    counts = {status: sum(1 for s in health.services if s.status == status) for status in HealthStatus}
    facing = sum(1 for s in services if s.customer_facing)
    troubled = ", ".join(
        f":{HEALTH[status].badge}[{counts[status]} {HEALTH[status].label.lower()}]"
        for status in (HealthStatus.DOWN, HealthStatus.DEGRADED, HealthStatus.UNKNOWN)
        if counts[status]
    )
    st.markdown(
        f"**{len(services)} service{'' if len(services) == 1 else 's'}**, {facing} customer-facing · "
        + (troubled or ":green[all healthy]")
    )
    st.plotly_chart(
        graph_figure(services, health), config=PLOTLY_CONFIG, key="service_graph", width="stretch"
    )
    st.caption(
        "Arrows point from a service to what it depends on: trouble at the bottom travels up. "
        "An arrow into a service in trouble takes its colour. Hover a service for details."
    )
    st.dataframe(
        catalogue_frame(services, health),
        hide_index=True,
        width="stretch",
        height=ROW_PX * (min(len(services), VISIBLE_ROWS) + 1) + 3,
        key="service_table",
        column_config=_column_config(),
    )


def overview(company: str, *, refresh_s: float) -> None:
    """Summary, graph and catalogue, redrawn every ``refresh_s`` seconds so the colours stay current."""
    st.fragment(run_every=refresh_s)(_overview)(company)


# --- forms: the work happens in the submit callback, before the page runs, so the run that
# follows already lists what was just registered and a rerun cannot lose the click.


def _error_key(form: str) -> str:
    return f"_svc_error_{form}"


def _show_error(form: str, labels: dict[str, str]) -> None:
    forms.show_error(_error_key(form), labels)


def flash() -> None:
    """What the last registration did, once."""
    forms.show_flash("_svc_flash")


def register_service_form(company: str, existing: list[str]) -> None:
    """Name, kind, upstreams, customer-facing and a description → ``register_service``; open by
    itself while the company has no services yet."""
    errored = st.session_state.get(_error_key("service")) is not None
    with st.expander(":material/add_circle: Register a service", expanded=errored or not existing):
        with st.form(f"register_service_{company}", border=False):
            left, right = st.columns(2)
            left.text_input(
                "Name", key=_key("name"), placeholder="dispatch-worker", help="Lower case, digits, - _ ."
            )
            right.selectbox(
                "Kind",
                [k.value for k in ServiceKind],
                index=1,
                key=_key("kind"),
                help="What sort of thing it is",
            )
            st.multiselect(
                "Depends on",
                existing,
                key=_key("depends_on"),
                placeholder="Services it needs to work",
                help="Its upstreams: trouble there may explain trouble here",
            )
            st.checkbox("Customer-facing", key=_key("customer_facing"), help="Customers notice its trouble")
            st.text_input("Description", key=_key("description"), placeholder="What it does, in a line")
            st.form_submit_button(
                "Register service",
                type="primary",
                icon=":material/add:",
                on_click=_submit_service,
                args=(company,),
            )
        _show_error("service", SERVICE_FIELDS)


def _submit_service(company: str) -> None:
    state = st.session_state
    name = (state.get(_key("name")) or "").strip()
    done = _attempt(
        "service",
        lambda: register_service(
            cursor(),
            company=company,
            service=name,
            kind=state.get(_key("kind")),
            depends_on=list(state.get(_key("depends_on")) or []),
            customer_facing=bool(state.get(_key("customer_facing"))),
            description=state.get(_key("description")) or "",
            actor=access.actor(),
        ),
        success=f"Service **{md(name)}** registered.",
        field="service",
    )
    if done:
        for field, empty in (
            ("name", ""),
            ("depends_on", []),
            ("customer_facing", False),
            ("description", ""),
        ):
            state[_key(field)] = empty


def _attempt(form: str, work: Callable[[], object], *, success: str, field: str) -> bool:
    """Run one registration; a client mistake is left for the form to show, naming the field."""
    try:
        work()
    except InvalidError as exc:
        st.session_state[_error_key(form)] = (exc.field, exc.message)
        return False
    except AlreadyExistsError as exc:
        st.session_state[_error_key(form)] = (field, str(exc))
        return False
    except WorkflowError as exc:
        st.session_state[_error_key(form)] = (None, access.refusal_text(exc))
        return False
    st.session_state["_svc_flash"] = success
    return True


def register_company_form() -> None:
    """Slug and name → ``add_company``; then the frame switches to the new company."""
    errored = st.session_state.get(_error_key("company")) is not None
    with st.expander(":material/domain_add: Register a company", expanded=errored):
        with st.form("register_company", border=False):
            left, right = st.columns(2)
            left.text_input(
                "Slug", key=_key("company_slug"), placeholder="acme-freight", help="As in ?company="
            )
            right.text_input("Name", key=_key("company_name"), placeholder="Acme Freight")
            st.form_submit_button("Register company", icon=":material/add:", on_click=_submit_company)
        _show_error("company", COMPANY_FIELDS)


def _submit_company() -> None:
    state = st.session_state
    slug = (state.get(_key("company_slug")) or "").strip()
    done = _attempt(
        "company",
        lambda: add_company(
            cursor(), company=slug, name=state.get(_key("company_name")) or "", actor=access.actor()
        ),
        success=f"Company **{md(slug)}** registered, with the default rules. Now register its services.",
        field="company",
    )
    if done:
        state[_key("company_slug")] = ""
        state[_key("company_name")] = ""
        # The frame's own mechanism: the session's company, confirmed by the URL on the next run.
        state[frame.COMPANY_KEY] = slug
        st.query_params["company"] = slug
