"""`openlfr calibrate`: the threshold for a target false-alert rate, with its evidence.

The evidence (threshold, expected false alerts and TPIR, method, data, model, date) is written as
JSON to `<store data_dir>/calibrations/<model>-<UTC time>.json`, which a deployment keeps; a later
issue moves it into the store as a `calibrations` record.

The authorisation floor (R7, `GovernanceSettings.threshold_floors`) stays a setting: the floor is
policy, set by whoever administers the force's configuration, and a command that measures should
not silently loosen it. The command prints the `OPENLFR_GOVERNANCE__THRESHOLD_FLOORS` value that
makes the calibrated threshold the floor, and the evidence file records it, so the floor in force
can be traced to the measurement that justifies it.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import typer

from openlfr import __version__
from openlfr.cli.common import OPTIONS, err_console, handle_errors
from openlfr.config import Settings
from openlfr.errors import OpenLFRError
from openlfr.evaluation import calibration as cal
from openlfr.evaluation.embedding_cache import embed_files
from openlfr.evaluation.templates import enrolment_templates
from openlfr.evaluation.video import IMAGE_SUFFIXES

DEFAULT_ROOT = Path("../shared/data/lfw/images")


class CalibrationInputError(OpenLFRError, ValueError):
    """The calibration set or the targets cannot be used."""


def list_images(root: Path) -> tuple[list[str], list[Path], np.ndarray]:
    """(identity per image, image paths, is-the-identity's-first-image) for DIR/<identity>/."""
    if not root.is_dir():
        raise CalibrationInputError(f"{root}: calibration folder not found")
    ids: list[str] = []
    paths: list[Path] = []
    first: list[bool] = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(
            p
            for p in d.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
        )
        for i, f in enumerate(files):
            ids.append(d.name)
            paths.append(f)
            first.append(i == 0)
    identities = len(set(ids))
    if identities < 3:
        raise CalibrationInputError(
            f"{root}: {identities} identities in DIR/<identity>/<images> sub-folders; "
            "calibration needs at least 3 (and hundreds for a useful estimate)"
        )
    if len(paths) == identities:
        raise CalibrationInputError(
            f"{root}: no identity has two or more images, so no mated pairs for the TPIR"
        )
    return ids, paths, np.array(first, bool)


def target_per_hour(per_hour: float | None, per_1000: float | None, faces_per_hour: float) -> float:
    if (per_hour is None) == (per_1000 is None):
        raise CalibrationInputError(
            "give exactly one of --false-alerts-per-hour and --false-alerts-per-1000-faces"
        )
    target = per_hour if per_hour is not None else float(per_1000 or 0.0) * faces_per_hour / 1e3
    if not math.isfinite(target) or target <= 0:
        raise CalibrationInputError(f"the target false-alert rate must be > 0, got {target}")
    if target >= faces_per_hour:
        raise CalibrationInputError(
            f"target {target:g} false alerts per hour is not below the {faces_per_hour:g} faces "
            "per hour: every face would be allowed to alert"
        )
    return target


def evidence(
    root: Path,
    settings: Settings,
    *,
    watchlist_size: int,
    faces_per_hour: float,
    per_hour: float | None,
    per_1000: float | None,
    use_cache: bool = True,
) -> dict[str, Any]:
    target = target_per_hour(per_hour, per_1000, faces_per_hour)
    ids, paths, first = list_images(root)
    vision = settings.vision
    emb = embed_files(paths, vision, use_cache=use_cache)
    names = [str(p.relative_to(root)) for p in paths]
    data = cal.scores_from_vectors(
        ids,
        emb.vectors,
        emb.ok,
        first,
        names,
        cohort=cal.cohort_for(settings),
        min_std=settings.scoring.min_std,
        # Templates as enrolment builds them (settings.scoring.enrol_augment, issue 12).
        templates=enrolment_templates(paths, vision, settings.scoring, first, use_cache=use_cache),
    )
    if data.mate_scores.size == 0:
        raise CalibrationInputError(f"{root}: no usable mated image (faces not found)")
    result = cal.calibrate_scores(
        data.impostors,
        data.mate_scores,
        data.mated,
        watchlist_size=watchlist_size,
        faces_per_hour=faces_per_hour,
        false_alerts_per_hour=target,
    )
    model = (
        vision.embedder
        + ("+flip" if vision.flip_tta else "")
        + ("+znorm" if settings.scoring.normalisation == "znorm" else "")
        + ("" if settings.scoring.enrol_augment == "none" else "+" + settings.scoring.enrol_augment)
    )
    floors = dict(settings.governance.threshold_floors)
    current = floors.get(vision.embedder)
    floors[vision.embedder] = result["threshold"]
    return {
        **result,
        "target": {
            "false_alerts_per_hour": target,
            "watchlist_size": watchlist_size,
            "faces_per_hour": faces_per_hour,
        },
        "method": (
            "exact expected FPIR over watchlists of N identities drawn at random from the "
            "calibration identities (hypergeometric, per probe: see openlfr.evaluation."
            "calibration); false alerts per hour = faces per hour x FPIR (one search per face); "
            "TPIR from mated images against their identity's first image with N - 1 others; "
            "95% interval: bootstrap over probe identities"
        ),
        "data": {
            "root": str(root.resolve()),
            "identities": data.identities,
            "images": data.images,
            "failures_to_enrol": data.failures,
            "templates": "each identity's first image (by file name)",
            "highest_impostor_comparisons": data.top_impostors,
            "note": "the highest impostor scores decide strict targets; in LFW several are one "
            "person filed under two names (label noise), which makes the threshold higher "
            "(conservative) than the model needs: review them",
        },
        "model": model,
        "vision_settings": vision.model_dump(mode="json"),
        "openlfr_version": __version__,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "authorisation_floor": {
            "model": vision.embedder,
            "current_floor": current,
            "calibrated_floor": result["threshold"],
            "env": "OPENLFR_GOVERNANCE__THRESHOLD_FLOORS=" + json.dumps(floors),
        },
    }


def write_evidence(result: dict[str, Any], data_dir: Path) -> Path:
    stamp = datetime.fromisoformat(result["date"]).strftime("%Y-%m-%dT%H%M%SZ")
    folder = data_dir / "calibrations"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result['model']}-{stamp}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path


def calibrate(
    root: Path = typer.Option(DEFAULT_ROOT, "--root", help="Calibration set: DIR/<identity>/."),
    watchlist_size: int = typer.Option(..., "--watchlist-size", min=1, help="People enrolled."),
    faces_per_hour: float = typer.Option(
        ..., "--faces-per-hour", min=1e-9, help="Faces (tracks) searched per hour."
    ),
    per_hour: float | None = typer.Option(
        None, "--false-alerts-per-hour", help="Target: expected false alerts per hour."
    ),
    per_1000: float | None = typer.Option(
        None, "--false-alerts-per-1000-faces", help="Target: false alerts per 1,000 faces."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the evidence here."),
    no_store: bool = typer.Option(
        False, "--no-store", help="Do not keep the evidence under <data_dir>/calibrations."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Embed every image afresh."),
) -> None:
    """Choose the alert threshold for a target false-alert rate.

    Prints the evidence as JSON.

    False alerts grow with the watchlist: a face is compared with every entry. The threshold is
    the lowest whose expected false alerts per hour, for a watchlist of --watchlist-size people
    and --faces-per-hour faces, meet the target, estimated exactly over random watchlists drawn
    from the calibration identities (a different-person image is a false alert when any entry
    reaches the threshold). It also prints the floor setting that makes it the authorisation
    floor.
    """
    with handle_errors():
        settings = OPTIONS.settings()
        result = evidence(
            root,
            settings,
            watchlist_size=watchlist_size,
            faces_per_hour=faces_per_hour,
            per_hour=per_hour,
            per_1000=per_1000,
            use_cache=not no_cache,
        )
        if not no_store:
            result["evidence_file"] = str(write_evidence(result, settings.store.data_dir))
            err_console.print(f"evidence kept in {result['evidence_file']}", highlight=False)
    floor = result["authorisation_floor"]
    err_console.print(
        f"threshold {result['threshold']:.4f}: expected "
        f"{result['expected_false_alerts_per_hour']:.3g} false alerts/hour (95% "
        f"{result['false_alerts_per_hour_ci95'][0]:.3g}-{result['false_alerts_per_hour_ci95'][1]:.3g})"
        f", TPIR {result['expected_tpir']:.2%}. To make it the authorisation floor: "
        f"{floor['env']}",
        highlight=False,
    )
    for c in result["caveats"]:
        err_console.print(f"caveat: {c}", highlight=False)
    text = json.dumps(result)
    print(text)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(text + "\n")
