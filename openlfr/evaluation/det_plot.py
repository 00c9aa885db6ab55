"""The DET picture of `openlfr eval identify`: FNIR against FPIR, per group."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openlfr.evaluation import metrics


def plot_det(
    curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    op_t: float,
    out: Path,
    title: str,
) -> None:
    """FNIR against FPIR (log x), one curve per entry, the operating threshold marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5), dpi=120)
    try:
        for name, (nm, m, r1) in curves.items():
            _, fpir, fnir = metrics.det_points(nm, m, r1)
            keep = fpir > 0
            style = {"color": "black", "lw": 2} if name == "all" else {"lw": 1.3}
            label = f"{name} ({len(m)} mated, {len(nm)} non-mated)"
            (line,) = ax.step(fpir[keep], fnir[keep], where="post", label=label, **style)
            op_fp = metrics.accept_rate(nm, op_t)
            op_fn = 1.0 - float(np.mean(r1 & (m >= op_t)))
            if op_fp > 0:
                ax.plot([op_fp], [op_fn], "o", color=line.get_color())
        ax.set_xscale("log")
        ax.set_xlabel("FPIR (false-positive identification rate)")
        ax.set_ylabel("FNIR (false-negative identification rate)")
        ax.set_title(f"{title}; dots: operating threshold {op_t:.3f}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, bbox_inches="tight")
    finally:
        plt.close(fig)
