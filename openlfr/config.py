"""All settings, in one validated tree. Environment: OPENLFR_<SECTION>__<FIELD>.

Every threshold documents its trade-off where it is defined, so that whoever changes it knows
what they are buying and what they are paying.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from openlfr.config_accountability import AccountabilitySettings
from openlfr.config_evidence import EvidenceSettings
from openlfr.config_grouping import GroupingSettings
from openlfr.config_ray import RaySettings
from openlfr.config_retro import RetroSettings
from openlfr.config_scoring import ScoringSettings
from openlfr.config_vision import VisionSettings
from openlfr.domain.policy import GovernanceSettings


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QualitySettings(_Section):
    min_face_px: float = Field(
        40.0,
        ge=8.0,
        description="Shortest side of a face box, in source-frame pixels, from which a face "
        "counts as a full view. Enrolment and evaluation refuse smaller faces; the live pipeline "
        "searches them down to evidence.hard_min_face_px as weaker evidence (more views or a "
        "higher score needed). Smaller faces give noisy embeddings; a larger bar asks more "
        "evidence of people further from the camera.",
    )
    min_detector_score: float = Field(
        0.75,
        ge=0.0,
        le=1.0,
        description="Detector score below which a face is not embedded. Keeps partial and "
        "occluded faces out of matching, at the cost of some faces never being searched.",
    )
    min_sharpness: float = Field(
        20.0,
        ge=0.0,
        description="Variance of the Laplacian of the aligned 112x112 grey crop below which a "
        "face counts as blurred and is not embedded. Motion-blurred faces match poorly; too "
        "high a floor rejects soft but usable video.",
    )
    max_asymmetry: float = Field(
        0.45,
        ge=0.0,
        le=1.0,
        description="How far the nose may sit off the eyes' mid-line, as a fraction of the eye "
        "distance (0 = frontal), for a face to count as a full view. Enrolment and evaluation "
        "refuse more turned faces; the live pipeline searches them up to "
        "evidence.hard_max_asymmetry as weaker evidence. Profiles embed poorly; a lower bar "
        "asks more evidence of all but frontal views.",
    )


class TrackingSettings(_Section):
    activation_score: float = Field(
        0.5, ge=0.0, le=1.0, description="Detector score a new track must reach to start."
    )
    lost_track_frames: int = Field(
        30,
        ge=1,
        description="Frames a track survives unseen before it ends. Longer bridges occlusions "
        "but risks one track taking over two people crossing.",
    )
    match_iou: float = Field(0.8, ge=0.0, le=1.0, description="ByteTrack's matching threshold.")
    max_embeddings_per_track: int = Field(
        5,
        ge=1,
        le=100,
        description="Most faces embedded per track: the track's best views, not every frame. "
        "More views raise recall on long tracks and cost ~8 ms each on 2 cores.",
    )
    min_embed_gap_frames: int = Field(
        3, ge=0, description="Frames between two embeddings of the same track, unless much better."
    )
    recheck_frames: int = Field(
        25,
        ge=1,
        description="Once a track has alerted or holds its full set of views, one view every "
        "this many frames checks that it still follows the same person (a tracker can hand one "
        "box over to another person at the same place). Lower catches hand-overs sooner, at "
        "~8 ms per check.",
    )
    split_similarity: float = Field(
        0.3,
        ge=-1.0,
        le=1.0,
        description="A new view whose cosine to the track's fused vector is below this starts a "
        "new track: it is someone else. SFace views of one person in one clip score ~0.6-0.9 "
        "and two people ~0-0.3; higher splits more often on poor views of one person.",
    )
    quality_gain: float = Field(
        1.1,
        ge=1.0,
        description="A later view is embedded early only if its quality beats the track's best "
        "so far by this factor; otherwise embeddings are spaced by min_embed_gap_frames.",
    )


class MatchingSettings(_Section):
    threshold: float = Field(
        0.5,
        ge=-1.0,
        le=1.0,
        description="Cosine score a track's fused embedding must reach to raise an alert. SFace "
        "on LFW: 0.359 gives 1 false accept in 1,000 pairs and 0.416 1 in 10,000; a watchlist of "
        "N people is searched N times per face, so a live threshold must sit higher (on a 1080p "
        "crowd against 500 LFW identities the best impostor track scored 0.44). Raising it "
        "cuts false alerts and misses more wanted people.",
    )
    min_views: int = Field(
        2,
        ge=1,
        description="Views a track must have fused before it may alert at the threshold. One "
        "view is one noisy sample; averaging two or more cuts impostor scores, at the cost of "
        "~0.1 s more latency per alert.",
    )
    single_view_extra: float = Field(
        0.1,
        ge=0.0,
        description="With fewer than min_views views a track alerts only above threshold plus "
        "this, so a person seen only briefly can still be flagged when the match is clear.",
    )
    top_k: int = Field(2, ge=1, le=50, description="Candidates kept per search (best + runner-up).")
    faiss_above: int = Field(
        50_000,
        ge=1,
        description="Gallery size from which FAISS flat search replaces numpy (both exact).",
    )


class VideoSettings(_Section):
    queue_frames: int = Field(
        4,
        ge=1,
        le=256,
        description="Frames waiting for analysis per camera. A full queue drops the oldest frame "
        "(and counts it), so a live feed never lags more than queue_frames/fps seconds.",
    )
    realtime: bool = Field(
        False, description="Pace a file at its own frame rate instead of as fast as possible."
    )
    analysis_fps: float = Field(
        10.0,
        ge=0.0,
        le=120.0,
        description="Frames analysed per second per paced camera (live, or a file read in real "
        "time); the rest are skipped before the queue and counted. 0 analyses every frame. "
        "Higher sees a fast-moving face on more frames (more chances of a good view) at a CPU "
        "cost that grows with it; 10 keeps about 3 views in a 0.3 s glance. An unpaced file "
        "(offline evidence) always has every frame analysed.",
    )
    open_timeout_s: float = Field(10.0, gt=0, description="Time allowed to open a stream.")
    read_timeout_s: float = Field(
        5.0,
        gt=0,
        description="Silence (no data, or data that decodes to no picture) after which a stream "
        "is dead and is reopened. Shorter notices a dead camera sooner but reconnects a "
        "stream that merely stutters.",
    )
    reconnect_initial_s: float = Field(1.0, gt=0, description="First wait before reconnecting.")
    reconnect_max_s: float = Field(30.0, gt=0, description="Longest wait between reconnections.")
    reconnect_attempts: int = Field(
        0, ge=0, description="Reconnections before giving up (0 = keep trying while authorised)."
    )
    runner_lost_after_s: float = Field(
        60.0,
        ge=30.0,
        le=3600.0,
        description="Silence of a live deployment's heartbeat (its runner saves counters and "
        "beats every 2 s) after which its runner process is taken as lost (killed, crashed, "
        "machine down) and the deployment is ended as 'runner lost' by `openlfr purge`, the "
        "next run or the operator service. At least 30 s (fifteen beats, and longer than the "
        "store's 15 s lock wait), so a busy database never ends a live run; longer leaves a "
        "dead run shown as live, and its watchlist unpurged, for longer.",
    )


class WebSettings(_Section):
    host: str = Field(
        "127.0.0.1",
        description="Address `openlfr serve` listens on. Loopback by default: put a TLS-"
        "terminating proxy in front before exposing it to a network.",
    )
    port: int = Field(8000, ge=1, le=65535, description="Port `openlfr serve` listens on.")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses (or CIDR networks) of the reverse proxies whose X-Forwarded-For "
        "and X-Forwarded-Proto are believed. None by default: the client address is the peer's, "
        "which the log-in limiter counts and sessions record. Name your TLS proxy here when one "
        "is in front, or every client looks like the proxy; naming more lets whoever reaches "
        "the service from those addresses choose the address it is counted under.",
    )
    secure_cookies: bool = Field(
        False,
        description="Mark the session cookie Secure (sent over HTTPS only) and send HSTS. Turn "
        "on whenever the service is reached over HTTPS; off only for loopback use and tests.",
    )
    session_hours: float = Field(
        12.0,
        gt=0,
        le=24 * 7,
        description="Life of a page session (one shift). Longer means fewer log-ins and a "
        "longer window for a stolen cookie.",
    )
    token_hours: float = Field(
        8.0,
        gt=0,
        le=24 * 90,
        description="Life of an API bearer token from POST /api/token. Long-lived tokens suit "
        "scrapers (Prometheus) but are worth more to a thief.",
    )
    login_max_failures: int = Field(
        5,
        ge=1,
        description="Failed log-ins allowed per account within login_window_s before that "
        "account's log-ins are refused (429) until the window passes. Slows password guessing; "
        "a lower value lets an attacker lock out a known user more easily.",
    )
    login_max_failures_per_ip: int = Field(
        20,
        ge=1,
        description="Failed log-ins allowed per client address within login_window_s (stops "
        "one address guessing across many accounts).",
    )
    login_window_s: float = Field(
        300.0, gt=0, description="Window over which failed log-ins are counted."
    )
    alert_poll_s: float = Field(
        0.1,
        gt=0,
        le=10,
        description="How often the server looks for new alerts (also those raised by a separate "
        "`openlfr deployment run` process) to push to operators. Shorter is quicker to the "
        "screen at the cost of one small indexed query per poll (10 a second at 0.1: measured "
        "p95 push 160 ms to 200 operators at 50 alerts/s; 0.5 gave 535 ms).",
    )
    health_poll_s: float = Field(
        2.0,
        gt=0,
        le=60,
        description="How often camera counters are read for fps and dropped frames (runners "
        "save them every 2 s, so polling faster shows nothing new).",
    )
    alert_order: Literal["newest_first", "oldest_first"] = Field(
        "newest_first",
        description="Default order of the operator's queue (each operator can flip it on the "
        "page). newest_first puts the person most likely still in front of the camera on top, "
        "where an intervention can still happen; oldest_first works the backlog fairly but "
        "shows a live arrival last, after alerts whose subject has probably walked on.",
    )


def default_data_dir() -> Path:
    return Path(user_data_dir("openlfr", appauthor=False))


class StoreSettings(_Section):
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where the embedded database and nothing else lives (the key files sit beside "
        "it, in <data_dir>-keys, not inside it).",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL. Unset: SQLite (WAL) at <data_dir>/openlfr.db. Production: "
        "postgresql+psycopg://user@host/db.",
    )
    key_file: Path | None = Field(
        None,
        description="File holding the key that encrypts biometric blobs at rest (and from which "
        "the integrity MAC key is derived). Unset: <data_dir>-keys/blob.key, beside the data "
        "folder and not in it, so a backup or copy of the data folder does not carry the key; "
        "created on first use for a new database only (an existing database without its key "
        "refuses to open).",
    )
    key: str | None = Field(
        None,
        description="The blob key itself (urlsafe base64, 32 bytes), e.g. from a secret manager. "
        "Takes precedence over key_file.",
    )

    def resolved_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'openlfr.db'}"

    signing_key_file: Path | None = Field(
        None,
        description="Ed25519 key that signs audit checkpoints (0600). Unset: audit-signing.key "
        "beside the blob key file. Whoever holds it can sign a rewritten log: keep it off the "
        "database server where you can; the public half alone suffices to verify.",
    )
    signing_key: str | None = Field(
        None,
        description="The audit signing key itself (urlsafe base64 of the 32-byte Ed25519 seed), "
        "e.g. for a worker on another node; takes precedence over signing_key_file.",
    )
    checkpoint_every: int = Field(
        100,
        ge=1,
        le=1_000_000,
        description="Sign an audit checkpoint every this many rows (and at each deployment's "
        "end). Fewer rows between checkpoints narrow the unsigned tail an insider could cut off "
        "unseen (without an anchor); each checkpoint costs one signature (~50 us) and one row.",
    )

    def resolved_key_file(self) -> Path:
        return self.key_file or self.data_dir.parent / f"{self.data_dir.name}-keys" / "blob.key"


class Settings(BaseSettings):
    """Everything openlfr can be told. Nested: OPENLFR_MATCHING__THRESHOLD=0.5."""

    model_config = SettingsConfigDict(
        env_prefix="OPENLFR_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    vision: VisionSettings = Field(default_factory=VisionSettings, description="Models.")
    quality: QualitySettings = Field(default_factory=QualitySettings, description="Quality gate.")
    tracking: TrackingSettings = Field(default_factory=TrackingSettings, description="Tracking.")
    matching: MatchingSettings = Field(default_factory=MatchingSettings, description="Matching.")
    video: VideoSettings = Field(default_factory=VideoSettings, description="Frame sources.")
    store: StoreSettings = Field(default_factory=StoreSettings, description="Storage.")
    web: WebSettings = Field(
        default_factory=WebSettings, description="Operator service: listening, sessions, log-in."
    )
    governance: GovernanceSettings = Field(
        default_factory=GovernanceSettings,
        description="The lawful limits: ranks, durations, threshold floors, retention periods.",
    )
    accountability: AccountabilitySettings = Field(
        default_factory=AccountabilitySettings,
        description="Public accountability: advance notice, contact, equality evidence age.",
    )
    retro: RetroSettings = Field(
        default_factory=RetroSettings, description="Retrospective search, custody deletion."
    )
    grouping: GroupingSettings = Field(
        default_factory=GroupingSettings, description="Alert grouping into sightings."
    )
    evidence: EvidenceSettings = Field(
        default_factory=EvidenceSettings, description="Evidence a track needs to alert."
    )
    scoring: ScoringSettings = Field(
        default_factory=ScoringSettings, description="Score normalisation and fusion."
    )
    ray: RaySettings = Field(default_factory=RaySettings, description="Ray engine placement.")
