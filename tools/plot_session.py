"""A picture of a simulator session: its event log (`evsesim.sim --events FILE`,
docs/simulator.md) as ONE PNG with a shared time axis.

    python tools/plot_session.py events.jsonl -o session.png [--title TEXT]

Panels, top to bottom: pilot state and PWM duty; current per phase, offered
(wide, pale) and drawn (thin); energy; the status of each connector over time
with the OCPP messages as markers (sent: up, received: down; calls from the
Central System named) and the control ops. CPython only (matplotlib).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any

PILOT_LEVEL = {"A": 5, "B": 4, "C": 3, "D": 2, "E": 1, "F": 0}
STATUS_COLOR = {
    "Available": "#9ecae1", "Preparing": "#fdd0a2", "Charging": "#31a354",
    "SuspendedEV": "#a1d99b", "SuspendedEVSE": "#fdae6b", "Finishing": "#bcbddc",
    "Reserved": "#dadaeb", "Unavailable": "#bdbdbd", "Faulted": "#de2d26",
}
PHASE_COLOR = ("#1f77b4", "#ff7f0e", "#2ca02c")
# Central System calls worth a label on the timeline (the rest are markers)
LABELLED = ("SetChargingProfile", "ClearChargingProfile", "RemoteStartTransaction",
            "RemoteStopTransaction", "Reset", "ChangeAvailability", "UnlockConnector",
            "TriggerMessage", "ChangeConfiguration", "UpdateFirmware")


def load(path: str) -> list[dict[str, Any]]:
    """The log's records, in order; a line that is not a JSON object (a
    log cut off mid-line) raises ValueError naming the line."""
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                raise ValueError("%s:%d: not JSON (%s)" % (path, n, e))
            if not isinstance(rec, dict) or "t" not in rec or "k" not in rec:
                raise ValueError("%s:%d: not an event record" % (path, n))
            out.append(rec)
    return out


def counts(records: list[dict[str, Any]]) -> dict[str, Any]:
    """What the log holds: records per kind, connectors, OCPP actions."""
    kinds = Counter(r["k"] for r in records)
    actions = Counter("%s %s" % (r["dir"], r.get("action")) for r in records if r["k"] == "ocpp")
    conns = sorted({r["c"] for r in records if r["k"] in ("sample", "status")})
    return {"records": len(records), "kinds": dict(kinds), "connectors": conns,
            "ocpp": dict(actions), "duration_s": (records[-1]["t"] - records[0]["t"]) / 1000 if records else 0}


def _steps(xs: list[float], ys: list[Any], t_end: float) -> tuple[list[float], list[Any]]:
    """Sample-and-hold: each value lasts until the next sample."""
    if not xs:
        return [], []
    return xs + [t_end], ys + [ys[-1]]


def render(path: str, out: str, title: str | None = None) -> dict[str, Any]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = load(path)
    info = counts(recs)
    if not recs:
        raise ValueError("%s: no records" % path)
    t_end = max(r["t"] for r in recs)
    unit, div = ("min", 60000.0) if t_end > 10 * 60000 else ("s", 1000.0)
    end = t_end / div
    conns = info["connectors"] or [1]

    fig, axes = plt.subplots(4, 1, sharex=True, figsize=(10, 8.6),
                             gridspec_kw={"height_ratios": [1.1, 1.4, 1.0, 0.5 + 0.35 * len(conns)]})
    ax_p, ax_i, ax_e, ax_s = axes
    ax_d = ax_p.twinx()
    styles = ("-", "--", ":")
    for ci, c in enumerate(conns):
        samples = [r for r in recs if r["k"] == "sample" and r["c"] == c]
        xs = [r["t"] / div for r in samples]
        lab = "c%d" % c
        x, y = _steps(xs, [PILOT_LEVEL.get(r["pilot"], -1) for r in samples], end)
        ax_p.step(x, y, where="post", color="k", ls=styles[ci % 3], lw=1.4, label="pilot " + lab)
        x, y = _steps(xs, [r["duty"] if r["duty"] < 100 else 0 for r in samples], end)
        ax_d.step(x, y, where="post", color="#d62728", ls=styles[ci % 3], lw=1, label="duty " + lab)
        for ph in range(3):
            x, y = _steps(xs, [r["offered_a"][ph] for r in samples], end)
            ax_i.step(x, y, where="post", color=PHASE_COLOR[ph], ls="-", lw=4, alpha=0.25,
                      label="offered L%d %s" % (ph + 1, lab) if ci == 0 else None)
            x, y = _steps(xs, [r["drawn_a"][ph] for r in samples], end)
            ax_i.step(x, y, where="post", color=PHASE_COLOR[ph], ls=("-", "--", ":")[ph], lw=1.3,
                      label="drawn L%d %s" % (ph + 1, lab) if ci == 0 else None)
        x, y = _steps(xs, [r["wh"] for r in samples], end)
        ax_e.plot(x, y, ls=styles[ci % 3], color="#6a3d9a", lw=1.6, label="energy " + lab)
        # the status timeline: one row per connector
        row = len(conns) - ci
        for k, r in enumerate(samples):
            t1 = samples[k + 1]["t"] / div if k + 1 < len(samples) else end
            ax_s.broken_barh([(r["t"] / div, max(t1 - r["t"] / div, 1e-6))], (row - 0.35, 0.7),
                             color=STATUS_COLOR.get(r["status"], "#999999"))
        last_label = -1e9
        for r in recs:
            if r["k"] == "status" and r["c"] == c and r["t"] / div - last_label > end * 0.06:
                last_label = r["t"] / div
                ax_s.text(r["t"] / div, row + 0.38, r["status"], fontsize=6.5, rotation=0,
                          va="bottom", ha="left", clip_on=True)
    ax_p.set_yticks(list(PILOT_LEVEL.values()), list(PILOT_LEVEL.keys()))
    ax_p.set_ylim(-0.5, 5.5)
    ax_p.set_ylabel("pilot state")
    ax_d.set_ylabel("PWM duty %", color="#d62728")
    ax_d.set_ylim(0, 100)
    h1, l1 = ax_p.get_legend_handles_labels()
    h2, l2 = ax_d.get_legend_handles_labels()
    ax_p.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper right", ncol=2)
    ax_i.set_ylabel("current A")
    ax_i.legend(fontsize=7, loc="upper right", ncol=3)
    ax_e.set_ylabel("energy Wh")
    ax_e.legend(fontsize=7, loc="upper left")

    # OCPP messages (row 0): sent up, received down; Central System calls named
    ocpp = [r for r in recs if r["k"] == "ocpp"]
    out_x = [r["t"] / div for r in ocpp if r["dir"] == "out"]
    in_x = [r["t"] / div for r in ocpp if r["dir"] == "in"]
    ax_s.scatter(out_x, [0.15] * len(out_x), marker="^", s=14, color="#08519c", label="OCPP sent")
    ax_s.scatter(in_x, [-0.15] * len(in_x), marker="v", s=14, color="#a50f15", label="OCPP received")
    for r in ocpp:
        if r["dir"] == "in" and r.get("type") == 2 and r.get("action") in LABELLED:
            ax_s.annotate(r["action"], (r["t"] / div, -0.15), xytext=(2, -11), textcoords="offset points",
                          fontsize=6.5, color="#a50f15")
    ops = [r for r in recs if r["k"] == "op" and r.get("op") not in ("advance", "shutdown")]
    for r in ops:
        ax_s.axvline(r["t"] / div, color="#777777", lw=0.5, ls=":")
        req = r.get("req", {})
        tag = r["op"] + "".join(" %s" % req[k] for k in ("state", "name", "id") if k in req)
        ax_s.annotate(tag, (r["t"] / div, len(conns) + 0.6), fontsize=6, rotation=35,
                      color="#555555", annotation_clip=False)
    ax_s.set_yticks([0] + [len(conns) - i for i in range(len(conns))],
                    ["OCPP"] + ["c%d" % c for c in conns])
    ax_s.set_ylim(-0.7, len(conns) + 0.6)
    ax_s.set_xlabel("time (%s, station clock%s)" % (unit, ", virtual" if any(
        r.get("clock") == "virtual" for r in recs if r["k"] == "start") else ""))
    ax_s.legend(fontsize=7, loc="lower right")
    ax_s.set_xlim(0, end * 1.01 if end else 1)
    for ax in axes:
        ax.grid(True, alpha=0.3)
    fig.suptitle(title or "simulator session (%s)" % path, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=72)
    plt.close(fig)
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="draw a simulator event log (evsesim.sim --events) as one PNG")
    ap.add_argument("events", help="the event log, JSON lines")
    ap.add_argument("-o", "--out", default="session.png", help="PNG to write (session.png)")
    ap.add_argument("--title", default=None)
    a = ap.parse_args(argv)
    try:
        info = render(a.events, a.out, a.title)
    except (OSError, ValueError) as e:
        print("plot_session.py: %s" % e, file=sys.stderr)
        return 1
    print("wrote %s: %d records (%s), %d OCPP messages, %.0f s" % (
        a.out, info["records"], ", ".join("%d %s" % (n, k) for k, n in sorted(info["kinds"].items())),
        info["kinds"].get("ocpp", 0), info["duration_s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
