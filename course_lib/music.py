"""Chapter 11: music as piano rolls. Bach chorales -> rolls, rolls -> MIDI and back, a synthesiser, plots.

A *piano roll* is a binary grid: roll[k, t, p] = 1 when track k sounds pitch p during time step t. MuseGAN (Dong
et al., AAAI 2018) cuts songs into segments of N bars and stores them as bars x steps x pitches x tracks; here the
track axis comes first, as channels do in PyTorch.

Dimension key: B batch (segments), K tracks (4: soprano, alto, tenor, bass), N bars per segment, T time steps per
bar, P pitches, S time steps of a whole chorale.

The conversion (`RollSettings`, stated in the notebook):
    time     4 steps per quarter note (a step is a 16th note); 4/4 chorales only, so a bar is T = 16 steps
    pitch    P = 48 pitches, MIDI 36 (C2) to 83 (B5); notes outside are dropped and counted
    key      each chorale is transposed by the smallest shift (-6..+5 semitones) that brings its analysed key to
             C major or A minor (music21's Krumhansl-Schmuckler analysis)
    segments N = 4 bars, a new segment every bar (overlapping windows), starting on a bar line (pickups shifted)
A binary roll cannot tell a held note from the same pitch struck again: repeated notes merge into one long note.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

TRACKS = ("Soprano", "Alto", "Tenor", "Bass")
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
CONVERSION_VERSION = 1  # bump when score_to_roll changes: the cache key includes it


@dataclass(frozen=True)
class RollSettings:
    steps_per_quarter: int = 4  # 16th-note resolution
    beats_per_bar: int = 4  # 4/4 only
    lowest: int = 36  # MIDI number of pitch index 0 (C2)
    n_pitches: int = 48  # up to MIDI 83 (B5): four octaves
    n_bars: int = 4  # bars per segment
    hop_bars: int = 1  # a segment starts every hop_bars bars
    transpose: bool = True  # to C major / A minor

    @property
    def steps_per_bar(self) -> int:
        return self.steps_per_quarter * self.beats_per_bar

    @property
    def highest(self) -> int:
        return self.lowest + self.n_pitches - 1

    def cache_key(self) -> str:
        """A short hash of everything that changes the rolls, so a changed setting never reads a stale file."""
        blob = json.dumps({**asdict(self), "version": CONVERSION_VERSION}, sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:10]

    def describe(self) -> str:
        low, high = midi_name(self.lowest), midi_name(self.highest)
        return (f"{self.steps_per_quarter} steps per quarter note (16th notes), 4/4 bars of {self.steps_per_bar} "
                f"steps; pitches MIDI {self.lowest}-{self.highest} ({low}-{high}, P = {self.n_pitches}); "
                f"segments of {self.n_bars} bars, one every {self.hop_bars} bar(s); "
                + ("transposed to C major / A minor" if self.transpose else "not transposed"))


def midi_name(m: int) -> str:
    return f"{NOTE_NAMES[m % 12]}{m // 12 - 1}"


# ----------------------------------------------------------------------------------------------------------
# music21 scores <-> rolls
# ----------------------------------------------------------------------------------------------------------


def key_shift(score) -> int:
    """Semitones (-6..+5) that move the analysed key's tonic to C (major) or A (minor)."""
    key = score.analyze("key")
    target = 0 if key.mode == "major" else 9
    return (target - key.tonic.pitchClass + 6) % 12 - 6


def pickup_steps(part, settings: RollSettings) -> int:
    """Steps missing from an incomplete first bar (an anacrusis), so that bar lines fall on multiples of T."""
    measures = part.getElementsByClass("Measure")
    if not len(measures):
        return 0
    return round(float(measures[0].paddingLeft) * settings.steps_per_quarter)


def score_to_roll(score, settings: RollSettings = RollSettings(), shift: int = 0) -> tuple[torch.Tensor, int]:
    """A music21 score with one part per track -> a bool roll (K, S, P) and the number of notes dropped as out of
    range. `shift` transposes by that many semitones. S is a whole number of bars."""
    parts = list(score.parts)
    q = settings.steps_per_quarter
    pad = pickup_steps(parts[0], settings)
    length = pad + round(float(score.highestTime) * q)
    length = -(-length // settings.steps_per_bar) * settings.steps_per_bar  # up to a whole bar
    roll = torch.zeros(len(parts), length, settings.n_pitches, dtype=torch.bool)  # (K, S, P)
    dropped = 0
    for k, part in enumerate(parts):
        for n in part.flatten().notes:  # Notes and Chords, offsets from the start of the score
            start = pad + round(float(n.offset) * q)
            end = pad + round(float(n.offset + n.quarterLength) * q)
            for p in n.pitches:
                i = p.midi + shift - settings.lowest
                if not 0 <= i < settings.n_pitches:
                    dropped += 1
                elif end > start:  # grace notes have no duration
                    roll[k, start:end, i] = True
    return roll, dropped


def note_runs(track: torch.Tensor) -> list[tuple[int, int, int]]:
    """(pitch index, first step, length) of every note of one track (S, P): maximal runs of ones in time."""
    x = torch.nn.functional.pad(track.T.to(torch.int8), (1, 1))  # (P, S + 2)
    d = x.diff(dim=1)  # (P, S + 1): +1 at an onset, -1 after the last step
    on, off = (d == 1).nonzero(), (d == -1).nonzero()  # both sorted by (pitch, step): they pair up
    return [(int(p), int(s), int(e - s)) for (p, s), (_, e) in zip(on.tolist(), off.tolist())]


def roll_to_score(roll: torch.Tensor, settings: RollSettings = RollSettings(), bpm: float = 80.0,
                  names: tuple[str, ...] = TRACKS):
    """A roll (K, S, P) or a segment (K, N, T, P) -> a music21 Score, one part per track, each note one run."""
    from music21 import instrument, meter, note, stream, tempo

    if roll.ndim == 4:
        roll = roll.flatten(1, 2)  # (K, N·T, P)
    q = settings.steps_per_quarter
    score = stream.Score()
    for k in range(roll.shape[0]):
        part = stream.Part()
        part.partName = names[k] if k < len(names) else f"track {k}"
        piano = instrument.Piano()
        piano.partName = piano.instrumentName = part.partName  # the MIDI track name, so read_midi finds it
        part.insert(0, piano)
        part.insert(0, meter.TimeSignature(f"{settings.beats_per_bar}/4"))
        if k == 0:
            part.insert(0, tempo.MetronomeMark(number=bpm))
        for p, start, length in note_runs(roll[k] > 0.5):
            part.insert(start / q, note.Note(settings.lowest + p, quarterLength=length / q))
        score.insert(0, part)
    return score


def write_midi(roll: torch.Tensor, path: Path | str, settings: RollSettings = RollSettings(),
               bpm: float = 80.0) -> Path:
    """Write a roll (K, S, P) or a segment (K, N, T, P) as a standard MIDI file, one track per roll track."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    roll_to_score(roll, settings, bpm).write("midi", fp=str(path))
    return path


def read_midi(path: Path | str, settings: RollSettings = RollSettings(), names: tuple[str, ...] = TRACKS,
              n_steps: int | None = None) -> torch.Tensor:
    """A MIDI file -> its roll (K, S, P), not transposed, S = n_steps or the last note's end rounded up to a bar.

    Reads the raw note-on / note-off events (music21's score import would group notes that start together into
    chords of one duration). Tracks named in `names` go to their row, so a silent track (absent from the file)
    comes back as an empty row; other files keep their track order."""
    from music21 import midi

    mf = midi.MidiFile()
    mf.open(str(path))
    mf.read()
    mf.close()
    per_step = mf.ticksPerQuarterNote / settings.steps_per_quarter
    tracks = []  # (name, [(pitch, first step, end step)])
    for track in mf.tracks:
        tick, name, sounding, notes = 0, None, {}, []
        for ev in track.events:
            if isinstance(ev, midi.DeltaTime):
                tick += ev.time
            elif ev.type == midi.MetaEvents.SEQUENCE_TRACK_NAME:
                name = ev.data.decode("latin-1")
            elif ev.isNoteOn():
                sounding[ev.pitch] = tick
            elif ev.isNoteOff() and ev.pitch in sounding:
                notes.append((ev.pitch, round(sounding.pop(ev.pitch) / per_step), round(tick / per_step)))
        if notes or name in names:
            tracks.append((name, notes))
    found = [n for n, _ in tracks]
    by_name = len(set(found)) == len(found) and set(found) <= set(names)
    rows = [names.index(n) for n in found] if by_name else list(range(len(tracks)))
    end = max([e for _, notes in tracks for _, _, e in notes] + [0])
    S = n_steps or -(-end // settings.steps_per_bar) * settings.steps_per_bar
    roll = torch.zeros(len(names) if by_name else len(tracks), S, settings.n_pitches, dtype=torch.bool)  # (K, S, P)
    for row, (_, notes) in zip(rows, tracks):
        for m, start, stop in notes:
            if 0 <= m - settings.lowest < settings.n_pitches:
                roll[row, start:stop, m - settings.lowest] = True
    return roll


# ----------------------------------------------------------------------------------------------------------
# The Bach chorales of music21's corpus, converted once and cached
# ----------------------------------------------------------------------------------------------------------


def chorale_names() -> list[str]:
    """The corpus names of the Bach chorales bundled with music21 (about 371), in a fixed order."""
    from music21 import corpus

    names = [str(n) for n in corpus.chorales.Iterator(returnType="filename")]
    if not names:
        from .data import DataMissingError

        raise DataMissingError("music21's corpus has no Bach chorales: reinstall music21 "
                               "(`pip install --force-reinstall music21`); the corpus ships with it")
    return names


def convert_chorale(name: str, settings: RollSettings) -> tuple[torch.Tensor | None, str]:
    """(roll (K, S, P) uint8, "ok") for a 4-part chorale in 4/4, else (None, why it was skipped)."""
    from music21 import corpus

    score = corpus.parse(name)
    if len(score.parts) != 4:
        return None, f"{len(score.parts)} parts"
    meters = {ts.ratioString for ts in score.recurse().getElementsByClass("TimeSignature")}
    if meters != {f"{settings.beats_per_bar}/4"}:
        return None, "meter " + ",".join(sorted(meters))
    roll, dropped = score_to_roll(score, settings, key_shift(score) if settings.transpose else 0)
    return roll.to(torch.uint8), f"ok ({dropped} notes out of range)" if dropped else "ok"


def cache_path(settings: RollSettings, root: Path | None = None) -> Path:
    from .data import data_root

    return Path(root or data_root()) / "bach-chorales" / f"rolls_{settings.cache_key()}.pt"


def load_chorales(n_chorales: int | None = None, settings: RollSettings = RollSettings(), *,
                  root: Path | None = None, progress: bool = True) -> dict:
    """The first `n_chorales` of the corpus (all when None) as rolls, parsed once and cached.

    The cache (`<data root>/bach-chorales/rolls_<settings hash>.pt`) grows when more chorales are asked for and is
    written atomically. Returns {"rolls": {name: (K, S, P) uint8}, "status": {name: "ok" | why skipped}}."""
    from tqdm.auto import tqdm

    path = cache_path(settings, root)
    cache = {"settings": asdict(settings), "rolls": {}, "status": {}}
    if path.exists():
        cache = torch.load(path, weights_only=True)
    names = chorale_names()[:n_chorales]
    todo = [n for n in names if n not in cache["status"]]
    if todo:
        for name in tqdm(todo, desc="parsing chorales (music21, cached after)", disable=not progress):
            roll, status = convert_chorale(name, settings)
            cache["status"][name] = status
            if roll is not None:
                cache["rolls"][name] = roll
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        torch.save(cache, tmp)
        os.replace(tmp, path)  # atomic: a reader sees the old file or the new one
    return {"rolls": {n: cache["rolls"][n] for n in names if n in cache["rolls"]},
            "status": {n: cache["status"][n] for n in names}}


def segments(rolls: list[torch.Tensor], settings: RollSettings = RollSettings()) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut whole-chorale rolls (K, S, P) into segments (B, K, N, T, P), one every hop_bars bars; also returns
    which roll each segment came from (B,)."""
    T, N = settings.steps_per_bar, settings.n_bars
    out, source = [], []
    for i, roll in enumerate(rolls):
        bars = roll.unflatten(1, (-1, T))  # (K, S/T, T, P)
        if bars.shape[1] < N:
            continue
        win = bars.unfold(1, N, settings.hop_bars)  # (K, windows, T, P, N)
        out.append(win.permute(1, 0, 4, 2, 3))  # (windows, K, N, T, P)
        source.append(torch.full((win.shape[1],), i))
    return torch.cat(out), torch.cat(source)  # (B, K, N, T, P), (B,)


def load_bach(n_chorales: int | None = None, n_segments: int | None = None,
              settings: RollSettings = RollSettings(), *, seed: int = 0, progress: bool = True) -> dict:
    """Training data: segments (B, K, N, T, P) float in {0, 1}, the chorale index of each, and the chorales.
    `n_segments` takes a seeded random subset."""
    loaded = load_chorales(n_chorales, settings, progress=progress)
    names = list(loaded["rolls"])
    x, source = segments([loaded["rolls"][n] for n in names], settings)
    if n_segments is not None and n_segments < len(x):
        idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n_segments]
        x, source = x[idx], source[idx]
    return {"x": x.float(), "chorale": source, "names": names, "status": loaded["status"]}


# ----------------------------------------------------------------------------------------------------------
# Listening: a small additive synthesiser (vectorised numpy, no sound files needed)
# ----------------------------------------------------------------------------------------------------------


def synthesize(roll: torch.Tensor, settings: RollSettings = RollSettings(), *, bpm: float = 80.0,
               rate: int = 16_000, harmonics: tuple[float, ...] = (1.0, 0.4, 0.2, 0.1),
               decay: float = 1.5, ramp_s: float = 0.01) -> np.ndarray:
    """A roll (K, S, P) or a segment (K, N, T, P) -> a mono waveform in [-1, 1] at `rate` Hz.

    Each sounding pitch adds Σ_h a_h sin(2π h f t), f = 440 · 2^((m - 69)/12), under an envelope that starts at
    every onset, decays as exp(-decay · time since onset) and fades in and out over `ramp_s` (no clicks)."""
    x = roll.detach().cpu() > 0.5
    x = (x.flatten(1, 2) if roll.ndim == 4 else x).any(0).numpy()  # (S, P): all tracks together
    step_s = 60.0 / bpm / settings.steps_per_quarter
    sps = int(round(step_s * rate))  # samples per step
    active = np.flatnonzero(x.any(0))  # pitches that sound at all
    S = x.shape[0]
    wave = np.zeros(S * sps, dtype=np.float32)
    if len(active) == 0:
        return wave
    gate = x[:, active].astype(np.float32)  # (S, A)
    onset = np.diff(np.pad(gate, ((1, 0), (0, 0))), axis=0) > 0  # (S, A)
    steps = np.arange(S)[:, None]
    last_onset = np.maximum.accumulate(np.where(onset, steps, 0), axis=0)  # (S, A)
    since = ((steps - last_onset)[:, None, :] * step_s
             + (np.arange(sps) / rate)[None, :, None]).astype(np.float32)  # (S, sps, A)
    env = np.repeat(gate, sps, axis=0) * np.exp(-decay * since.reshape(S * sps, -1))  # (S·sps, A)
    n_ramp = max(1, int(ramp_s * rate))
    kernel = np.ones(n_ramp, dtype=np.float32) / n_ramp
    env = np.apply_along_axis(lambda e: np.convolve(e, kernel, mode="same"), 0, env)  # smooth on/off edges
    t = np.arange(S * sps, dtype=np.float64) / rate  # (S·sps,)
    freq = 440.0 * 2.0 ** ((settings.lowest + active - 69) / 12.0)  # (A,)
    tone = sum(a * np.sin(2 * np.pi * (h + 1) * t[:, None] * freq[None, :]) for h, a in enumerate(harmonics))
    wave = (env * tone).sum(1)  # (S·sps,)
    return (0.9 * wave / max(1e-9, np.abs(wave).max())).astype(np.float32)


# ----------------------------------------------------------------------------------------------------------
# Plots
# ----------------------------------------------------------------------------------------------------------

COLORS = ("tab:red", "tab:orange", "tab:green", "tab:blue")


def plot_tracks(segment: torch.Tensor, settings: RollSettings = RollSettings(), title: str | None = None,
                names: tuple[str, ...] = TRACKS):
    """One panel per track of a segment (K, N, T, P) (or a roll (K, S, P)): time across, pitch up, bar lines."""
    import matplotlib.pyplot as plt

    roll = (segment.flatten(1, 2) if segment.ndim == 4 else segment).float().cpu()  # (K, S, P)
    K, S, P = roll.shape
    fig, axes = plt.subplots(K, 1, figsize=(9, 1.3 * K + 0.4), sharex=True)
    axes = np.atleast_1d(axes)
    for k, ax in enumerate(axes):
        ax.imshow(roll[k].T.numpy(), origin="lower", aspect="auto", cmap="Greys", vmin=0, vmax=1,
                  interpolation="nearest", extent=(0, S, settings.lowest - 0.5, settings.highest + 0.5))
        for b in range(settings.steps_per_bar, S, settings.steps_per_bar):
            ax.axvline(b, color="tab:blue", lw=0.6, alpha=0.6)
        c_notes = [m for m in range(settings.lowest, settings.highest + 1) if m % 12 == 0]
        ax.set_yticks(c_notes, [midi_name(m) for m in c_notes], fontsize=7)
        ax.set_ylabel(names[k] if k < len(names) else f"track {k}", fontsize=8)
    axes[-1].set_xlabel(f"time step ({settings.steps_per_quarter} per quarter note)", fontsize=8)
    if title:
        axes[0].set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_segments(batch: torch.Tensor, titles: list[str] | None = None, settings: RollSettings = RollSettings(),
                  ncols: int = 4):
    """Several segments (B, K, N, T, P), each as one panel with its tracks in four colours."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb

    B = len(batch)
    nrows = -(-B // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.2 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= B:
            continue
        roll = (batch[i].flatten(1, 2) > 0.5).float().cpu()  # (K, S, P)
        img = np.ones((roll.shape[2], roll.shape[1], 3))  # (P, S, RGB) white
        for k in range(roll.shape[0]):
            on = roll[k].T.numpy() > 0
            img[on] = to_rgb(COLORS[k % len(COLORS)])
        ax.imshow(img, origin="lower", aspect="auto", interpolation="nearest")
        for b in range(settings.steps_per_bar, roll.shape[1], settings.steps_per_bar):
            ax.axvline(b - 0.5, color="0.7", lw=0.5)
        if titles:
            ax.set_title(titles[i], fontsize=8)
    fig.tight_layout()
    return fig
