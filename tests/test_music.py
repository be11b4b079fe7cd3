"""Chapter 11: piano-roll conversion (music21 -> roll -> MIDI -> roll), MuseGAN's metrics on hand-made rolls with
hand-computed values, the synthesiser, and the chorale cache."""

import math

import pytest
import torch

from course_lib import music
from course_lib import music_metrics as mm

ST = music.RollSettings()


def rolls(B=1, K=2, N=4, T=16, P=48):
    return torch.zeros(B, K, N, T, P)


def pitch(m):  # pitch index of MIDI number m
    return m - ST.lowest


# ----------------------------------------------------------------------------------------------------------
# Conversion
# ----------------------------------------------------------------------------------------------------------


def test_score_to_roll_by_hand():
    from music21 import chord, meter, note, stream

    score = stream.Score()
    p1, p2 = stream.Part(), stream.Part()
    p1.insert(0, meter.TimeSignature("4/4"))
    p1.insert(0.0, note.Note(60, quarterLength=1.0))  # C4, steps 0-3
    p1.insert(1.5, chord.Chord([64, 67], quarterLength=0.5))  # E4 + G4, steps 6-7
    p1.insert(2.0, note.Note(100, quarterLength=1.0))  # out of range: dropped
    p2.insert(0.25, note.Note(36, quarterLength=4.0))  # C2 (index 0), steps 1-16: crosses the bar line
    score.insert(0, p1), score.insert(0, p2)
    roll, dropped = music.score_to_roll(score, ST)
    assert dropped == 1
    assert roll.shape == (2, 32, 48)  # 4.25 quarters -> 17 steps -> rounded up to 2 bars
    want = torch.zeros(2, 32, 48, dtype=torch.bool)
    want[0, 0:4, pitch(60)] = True
    want[0, 6:8, pitch(64)] = want[0, 6:8, pitch(67)] = True
    want[1, 1:17, 0] = True
    assert torch.equal(roll, want)
    shifted, _ = music.score_to_roll(score, ST, shift=2)  # a whole tone up
    assert torch.equal(shifted[0, :, pitch(62)], want[0, :, pitch(60)])


def test_note_runs_and_roll_to_score():
    track = torch.zeros(20, 48, dtype=torch.bool)
    track[0:3, 5] = True
    track[7:8, 5] = True
    track[2:12, 30] = True
    assert sorted(music.note_runs(track)) == [(5, 0, 3), (5, 7, 1), (30, 2, 10)]
    score = music.roll_to_score(torch.stack([track, track]), ST)
    notes = [(n.offset, n.quarterLength, n.pitch.midi) for n in score.parts[0].flatten().notes]
    assert sorted(notes) == [(0.0, 0.75, 41), (0.5, 2.5, 66), (1.75, 0.25, 41)]


@pytest.fixture(scope="module")
def chorale_roll():
    from music21 import corpus

    score = corpus.parse("bach/bwv347")  # 4 parts, 4/4, A major, starts with a one-beat pickup
    shift = music.key_shift(score)
    roll, dropped = music.score_to_roll(score, ST, shift)
    return score, shift, roll, dropped


def test_chorale_roll_key_pickup_and_voices(chorale_roll):
    score, shift, roll, dropped = chorale_roll
    assert shift == 3  # A major -> C major: up a minor third is nearer than down a major sixth
    assert dropped == 0 and roll.shape[0] == 4 and roll.shape[1] % ST.steps_per_bar == 0
    pad = music.pickup_steps(score.parts[0], ST)
    assert pad == 12  # a one-beat pickup: its first note falls on the 4th beat of bar 0
    assert not roll[:, :pad].any() and roll[:, pad].any(-1).all()  # all four voices enter on the pickup
    assert (roll.sum(-1) <= 1).all(), "each chorale voice sings one note at a time"
    soprano, bass = roll[0].nonzero()[:, 1].float().mean(), roll[3].nonzero()[:, 1].float().mean()
    assert soprano > bass


def test_round_trip_music21_roll_midi_roll(chorale_roll, tmp_path):
    _, _, roll, _ = chorale_roll
    path = music.write_midi(roll, tmp_path / "bwv347.mid", ST)
    assert torch.equal(music.read_midi(path, ST, n_steps=roll.shape[1]), roll)
    back = music.read_midi(path, ST)  # without n_steps: up to the bar of the last note
    assert back.shape[1] <= roll.shape[1] and torch.equal(back, roll[:, :back.shape[1]])


def test_segment_midi_round_trip(tmp_path):
    seg = torch.zeros(4, 4, 16, 48)  # (K, N, T, P); track 2 stays silent
    seg[0, 0, 0:8, 30] = seg[1, 1, 4:16, 20] = seg[1, 2, 0:2, 20] = seg[3, 3, 15, 0] = 1  # one note crosses a bar line
    back = music.read_midi(music.write_midi(seg, tmp_path / "seg.mid", ST), ST)
    assert torch.equal(back, seg.flatten(1, 2).bool())


def test_polyphonic_random_rolls_round_trip(tmp_path):
    """Notes that start together but end apart (chords inside a track, as an untrained G makes) survive."""
    g = torch.Generator().manual_seed(0)
    for i in range(5):
        seg = (torch.rand(4, 4, 16, 48, generator=g) > 0.97).float()
        back = music.read_midi(music.write_midi(seg, tmp_path / f"r{i}.mid", ST), ST, n_steps=64)
        assert torch.equal(back, seg.flatten(1, 2).bool())


def test_segments_windows():
    roll = torch.zeros(4, 6 * 16, 48, dtype=torch.uint8)
    roll[:, torch.arange(6) * 16, torch.arange(6)[:, None].expand(6, 4).T.reshape(4, 6)[0]] = 1  # bar b: pitch b
    x, src = music.segments([roll, roll[:, :32]], ST)  # 6 bars -> 3 windows; 2 bars -> none
    assert x.shape == (3, 4, 4, 16, 48) and src.tolist() == [0, 0, 0]
    for w in range(3):
        for n in range(4):
            assert x[w, 0, n, 0, w + n] == 1 and x[w, 0, n].sum() == 1


def test_settings_key_changes_with_every_setting():
    keys = {music.RollSettings().cache_key(), music.RollSettings(lowest=35).cache_key(),
            music.RollSettings(steps_per_quarter=12).cache_key(), music.RollSettings(transpose=False).cache_key()}
    assert len(keys) == 4


def test_load_chorales_caches_and_grows(tmp_path):
    a = music.load_chorales(2, ST, root=tmp_path, progress=False)
    path = music.cache_path(ST, tmp_path)
    assert path.exists() and len(a["status"]) == 2
    cached = torch.load(path, weights_only=True)
    name = next(iter(a["rolls"]))
    cached["rolls"][name] = torch.zeros(4, 16, 48, dtype=torch.uint8)  # a marker: the next call must read the cache
    torch.save(cached, path)
    b = music.load_chorales(3, ST, root=tmp_path, progress=False)
    assert len(b["status"]) == 3 and b["rolls"][name].sum() == 0
    other = music.cache_path(music.RollSettings(lowest=35), tmp_path)
    assert other != path and not other.exists()


def test_synthesize_pitch_and_silence():
    seg = torch.zeros(4, 1, 16, 48)
    seg[0, 0, 0:8, pitch(69)] = 1  # A4 = 440 Hz for half a bar, then silence
    wave = music.synthesize(seg, ST, bpm=60, rate=8000, harmonics=(1.0,), decay=0.0)
    assert wave.shape == (16 * 2000,) and abs(abs(wave).max() - 0.9) < 1e-4
    sounding, silent = wave[200:15000], wave[17000:]
    assert abs(silent).max() < 1e-6
    spectrum = abs(torch.fft.rfft(torch.tensor(sounding)))
    peak_hz = spectrum.argmax().item() * 8000 / len(sounding)
    assert abs(peak_hz - 440) < 2


# ----------------------------------------------------------------------------------------------------------
# Metrics on hand-made rolls
# ----------------------------------------------------------------------------------------------------------


def test_empty_bars():
    x = rolls()
    x[0, 0, 0, 3, 10] = x[0, 0, 2, 0, 5] = 1  # track 0 plays in bars 0 and 2
    x[0, 1, :, 0, 7] = 1  # track 1 in every bar
    torch.testing.assert_close(mm.empty_bars(x), torch.tensor([0.5, 0.0], dtype=torch.float64))


def test_used_pitch_classes_over_non_empty_bars():
    x = rolls(K=1)
    x[0, 0, 0, 0, pitch(60)] = x[0, 0, 0, 5, pitch(72)] = x[0, 0, 0, 9, pitch(64)] = 1  # C4, C5, E4: 2 classes
    x[0, 0, 1, :, pitch(67)] = 1  # G only: 1
    for i, m in enumerate((60, 62, 64, 65)):  # bar 3: C D E F: 4; bar 2 stays empty and is not counted
        x[0, 0, 3, 4 * i, pitch(m)] = 1
    assert mm.used_pitch_classes(x).item() == pytest.approx(7 / 3)
    assert math.isnan(mm.used_pitch_classes(rolls(K=1)).item())


def test_pitch_classes_follow_the_lowest_pitch():
    x = rolls(K=1, N=1)
    x[0, 0, 0, 0, 0] = 1
    assert mm.chroma(x, lowest=36)[0, 0, 0].argmax() == 0  # C
    assert mm.chroma(x, lowest=33)[0, 0, 0].argmax() == 9  # A


def test_qualified_notes_runs_cross_bar_lines():
    x = rolls(K=1)
    x[0, 0, 0, 0, 1] = 1  # length 1
    x[0, 0, 0, 4:6, 2] = 1  # length 2
    x[0, 0, 1, 0:3, 3] = 1  # length 3
    x[0, 0, 1, 15, 4] = x[0, 0, 2, 0, 4] = 1  # length 2 across the bar line
    x[0, 0, 3, 15, 5] = 1  # length 1 at the very end
    assert mm.qualified_notes(x, min_len=2).item() == pytest.approx(3 / 5)
    assert mm.qualified_notes(x, min_len=3).item() == pytest.approx(1 / 5)
    assert mm.qualified_notes(x, min_len=1).item() == pytest.approx(1.0)


def test_qualified_notes_whole_segment_note():
    x = rolls(K=1)
    x[0, 0, :, :, 9] = 1  # one note of 64 steps
    assert mm.qualified_notes(x, min_len=2).item() == 1.0


def test_polyphony():
    x = rolls(K=1)
    x[0, 0, 0, :, 0] = 1
    x[0, 0, 0, 0:3, 4] = 1  # two pitches at 3 of the 64 steps
    x[0, 0, 1, 0, 0:3] = 1  # three pitches at one step
    assert mm.polyphony(x).item() == pytest.approx(4 / 64)
    assert mm.polyphony(x, threshold=2).item() == pytest.approx(1 / 64)


def test_tonal_centroid_by_hand():
    c = torch.zeros(12)
    c[0] = 3.0  # C only, any count
    torch.testing.assert_close(mm.tonal_centroid(c), torch.tensor([0, 1, 0, 1, 0, 0.5], dtype=torch.float64))
    g = torch.zeros(12)
    g[7] = 1.0  # G: angles 7·7π/6 ≡ π/6, 7·3π/2 ≡ π/2, 7·2π/3 ≡ 2π/3
    r3 = 3 ** 0.5
    want = torch.tensor([0.5, r3 / 2, 1, 0, r3 / 4, -0.25], dtype=torch.float64)
    torch.testing.assert_close(mm.tonal_centroid(g), want)
    torch.testing.assert_close(mm.tonal_centroid(torch.zeros(12)), torch.zeros(6, dtype=torch.float64))


def test_tonal_distance_by_hand():
    x = rolls(K=3, N=2)
    x[0, 0, 0, :, pitch(60)] = 1  # bar 0: track 0 plays C
    x[0, 1, 0, :4, pitch(67)] = 1  # track 1 plays G (any duration)
    x[0, 2, 0, :, pitch(48)] = 1  # track 2 plays C an octave lower
    x[0, 0, 1, :, pitch(60)] = 1  # bar 1: only track 0 plays: no pair counts it
    td = mm.tonal_distance(x)
    # ||ζ_C - ζ_G||² = 1/4 + (1 - √3/2)² + 1 + 1 + 3/16 + 9/16
    want = math.sqrt(0.25 + (1 - 3 ** 0.5 / 2) ** 2 + 2 + 3 / 16 + 9 / 16)
    assert want == pytest.approx(1.737225, abs=1e-6)
    assert td[0, 1].item() == pytest.approx(want) and td[1, 0].item() == pytest.approx(want)
    assert td[0, 2].item() == pytest.approx(0.0, abs=1e-12)  # octaves share their chroma
    assert td[1, 2].item() == pytest.approx(want)
    assert mm.summary({"TD": td})["TD"] == pytest.approx(2 * want / 3)


def test_evaluate_summary_and_range():
    x = rolls(B=4, K=2)
    x[:, :, :, :, 12] = 1
    x[2:, 1] = 0  # segments 2 and 3: track 1 silent
    m = mm.evaluate(x)
    torch.testing.assert_close(m["EB"], torch.tensor([0.0, 0.5], dtype=torch.float64))
    s = mm.summary(m)
    assert s["EB"] == pytest.approx(0.25) and s["UPC"] == pytest.approx(1.0) and s["QN"] == pytest.approx(1.0)
    r = mm.data_range(x, torch.tensor([0, 0, 1, 1]))  # chorale 0: EB 0; chorale 1: EB 0.5 -> 0.25 ± 0.25
    assert r["EB"] == pytest.approx((0.0, 0.5))
    r3 = mm.data_range(x[[0, 1, 2, 3, 0, 1]], torch.tensor([0, 0, 1, 1, 2, 2]))  # EB 0, 0.5, 0
    # mean 1/6, squared deviations 1/36 + 1/9 + 1/36 = 1/6 over 3 chorales: sd = sqrt(1/18); min 0 clips below
    assert r3["EB"] == pytest.approx((0.0, 1 / 6 + math.sqrt(1 / 18)), abs=1e-9)
    assert mm.within({"EB": 0.3, "UPC": 1, "QN": 1, "TD": 0}, r) == {"EB": True, "UPC": True, "QN": True, "TD": True}
    assert not mm.within({"EB": 0.6, "UPC": 1, "QN": 1, "TD": 0}, r)["EB"]
    text = mm.table({"data": s}, r)
    assert "data range" in text and "4/4" in text


def test_binarize_and_random_rolls():
    p = torch.tensor([0.2, 0.5, 0.51, 0.9])
    assert mm.binarize(p).tolist() == [0, 0, 1, 1]
    b = mm.binarize(torch.full((10000,), 0.3), "bernoulli", torch.Generator().manual_seed(0))
    assert set(b.unique().tolist()) <= {0.0, 1.0} and abs(b.mean().item() - 0.3) < 0.02
    with pytest.raises(ValueError):
        mm.binarize(p, "round")
    like = rolls(B=50, K=2)
    like[:, 0, :, :, :4] = 1  # density 4/48 in track 0, 0 in track 1
    r = mm.random_rolls(200, like, torch.Generator().manual_seed(0))
    assert r.shape == (200, 2, 4, 16, 48)
    assert abs(r[:, 0].mean().item() - 4 / 48) < 0.005 and r[:, 1].sum() == 0


def test_metrics_reject_wrong_shapes():
    with pytest.raises(ValueError, match="B, K, N, T, P"):
        mm.empty_bars(torch.zeros(4, 16, 48))


def test_evaluate_in_chunks_equals_all_at_once():
    g = torch.Generator().manual_seed(3)
    x = (torch.rand(37, 3, 4, 16, 48, generator=g) < 0.05).float()
    x[:7, 1] = 0  # a track silent in some segments: counts, not ratios, must be pooled
    whole, chunked = mm.evaluate(x, batch=len(x)), mm.evaluate(x, batch=5)
    for k in whole:
        torch.testing.assert_close(chunked[k], whole[k])


def test_bar_repetition_is_one_for_copied_bars_and_jaccard_otherwise():
    x = torch.zeros(1, 2, 4, 16, 48)
    x[0, 0, :, 0, 10] = 1  # track 0: the same note in every bar
    x[0, 1, 0, 0, 10] = x[0, 1, 1, 0, 10] = x[0, 1, 1, 1, 12] = 1  # track 1: bar 1 adds a note, bars 2-3 silent
    rep = mm.bar_repetition(x)
    assert rep[0].item() == pytest.approx(1.0)
    assert rep[1].item() == pytest.approx((1 / 2 + 0) / 2)  # pairs (0,1): 1/2; (1,2): 0/2; (2,3): no notes
