"""ESConv strategies and AnnoMI's MI codes: the readers, the act -> code mapping, the
detection figures (hand-computed), and `coach eval` over tiny synthetic files.

Ratings here are built by hand with the acts a judge would tag, so the tests do not depend
on what today's built-in judge tags.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from coach.cli import main
from coach.core.errors import CoachError
from coach.core.rubric import ACT_KINDS, Act, CriterionScore, Provenance, Rating
from coach.evaluation import codes
from coach.evaluation import datasets as ds
from coach.evaluation.metrics import binary_counts, binary_f1, precision, recall
from coach.evaluation.scoring import (
    detection_metrics,
    score_annomi,
    score_esconv,
    share_of_reflections,
)

ESCONV_HEADER = ["seeker_before", "response", "strategy"]
ESCONV_ROWS = [
    ("I lost my job.", "How did you find out?", "Questions"),
    ("I lost my job.", "You sound really shaken.", "Reflection of feelings"),
    ("It was so sudden.", "So it came out of nowhere.", "Restatement or Paraphrasing"),
    ("", "Maybe update your CV this week.", "Providing Suggestions"),
    ("I feel useless.", "You are clearly good at what you do!", "Affirmation and Reassurance"),
    ("Thanks.", "Hello", "Other"),
]
ANNOMI_HEADER = [
    "transcript_id", "utterance_id", "mi_quality", "topic", "client_before", "utterance_text",
    "reflection", "question", "therapist_input", "main_therapist_behaviour", "annotators",
]
ANNOMI_ROWS = [
    # transcript, utterance, client_before, text, reflection, question, input
    ("t1", "1", "I smoke a lot.", "What do you like about it?", "none", "open", "none"),
    ("t1", "2", "It calms me.", "It calms you down.", "simple", "none", "none"),
    ("t1", "3", "Yes.", "Part of you wants to stop, part of you doesn't?", "complex",
     "closed", "none"),
    ("t2", "1", "I drink.", "You should cut down.", "none", "none", "advice"),
    ("t2", "2", "Maybe.", "Is it every day?", "none", "closed", "none"),
]


def write_csv(path: Path, header: list[str], rows: list[tuple]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_esconv(folder: Path) -> Path:
    write_csv(folder / ds.ESCONV_FILE, ESCONV_HEADER, ESCONV_ROWS)
    return folder


def write_annomi(folder: Path) -> Path:
    rows = [(t, u, "high", "smoking", c, x, r, q, i, "other", "1")
            for t, u, c, x, r, q, i in ANNOMI_ROWS]
    write_csv(folder / ds.ANNOMI_FILE, ANNOMI_HEADER, rows)
    return folder


def rated(*kinds: str, status: str = "scored", fallback: bool = False) -> Rating:
    """A rating holding one act of each kind (quotes are placeholders: not checked here)."""
    if status != "scored":
        return Rating(status=status, reason="cannot read it")
    return Rating(
        scores={"warmth": CriterionScore(level=1)},
        acts=[Act(kind=k, quote="x") for k in kinds],
        source=Provenance(fallback=fallback),
    )


# ------------------------------------------------------------------ readers


def test_esconv_reader(tmp_path: Path) -> None:
    items = ds.load_esconv(write_esconv(tmp_path / "esc"))
    assert len(items) == len(ESCONV_ROWS)
    assert items[0].turns[0].reply == "How did you find out?"
    assert [ln.text for ln in items[0].turns[0].history] == ["I lost my job."]
    assert items[0].meta["strategy"] == "Questions"
    assert items[3].turns[0].history == ()  # an empty seeker_before is no context
    assert len({it.id for it in items}) == len(items)


def test_annomi_reader(tmp_path: Path) -> None:
    items = ds.load_annomi(write_annomi(tmp_path / "anno"))
    assert [it.id for it in items] == ["t1/1", "t1/2", "t1/3", "t2/1", "t2/2"]
    third = items[2]
    assert third.group == "t1"
    assert (third.meta["reflection"], third.meta["question"]) == ("complex", "closed")
    assert third.turns[0].history[0].role == "partner"


ESC = ",".join(ESCONV_HEADER).encode() + b"\n"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"seeker_before,response\na,b\n", "missing column(s) strategy"),
        (ESC + b"a,b,Questions\na,b,Chit-chat\n", "line 3: strategy='Chit-chat' is not one of"),
        (ESC + b"a,b\n", "line 2: the row has too few fields"),
        (ESC + b"a,  ,Questions\n", "line 2: the response is empty"),
        (ESC + b"caf\xe9,b,Questions\n", "not UTF-8 text"),
    ],
)
def test_malformed_esconv_file_names_the_file_and_line(
    tmp_path: Path, body: bytes, needle: str
) -> None:
    _assert_names_file_and_line(tmp_path / "esc" / ds.ESCONV_FILE, body, ds.load_esconv, needle)


def _assert_names_file_and_line(path: Path, body: bytes, load, needle: str) -> None:
    """Loading `body` from `path` fails with one error naming the file and `needle`."""
    path.parent.mkdir()
    path.write_bytes(body)
    with pytest.raises(CoachError) as e:
        load(path.parent)
    assert str(path) in str(e.value) and needle in str(e.value)


def _annomi_line(**change: str) -> bytes:
    row = dict(zip(ANNOMI_HEADER, ["t1", "1", "high", "x", "hi", "How is it?", "none", "open",
                                   "none", "question", "1"], strict=True))
    row.update(change)
    return (",".join(ANNOMI_HEADER) + "\n" + ",".join(row.values()) + "\n").encode()


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"transcript_id,utterance_text\nt1,hi\n", "missing column(s) utterance_id"),
        (_annomi_line(reflection="deep"), "line 2: reflection='deep' is not one of"),
        (_annomi_line(question="Open"), "line 2: question='Open' is not one of"),
        (_annomi_line(therapist_input="lecture"), "line 2: therapist_input='lecture'"),
        (_annomi_line(utterance_text=""), "line 2: the utterance_text is empty"),
        (_annomi_line(transcript_id=" "), "line 2: the transcript_id is empty"),
    ],
)
def test_malformed_annomi_file_names_the_file_and_line(
    tmp_path: Path, body: bytes, needle: str
) -> None:
    _assert_names_file_and_line(tmp_path / "anno" / ds.ANNOMI_FILE, body, ds.load_annomi, needle)


def test_folders_without_the_files_are_missing_not_broken(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ds.DatasetMissing, match="supporter-utterances.csv"):
        ds.load_esconv(tmp_path / "empty")
    with pytest.raises(ds.DatasetMissing, match="therapist-utterances.csv"):
        ds.load_annomi(tmp_path / "empty")


# ------------------------------------------------------------------ the mapping


def test_every_mapped_act_is_in_the_vocabulary_and_every_gold_value_exists() -> None:
    for code in codes.ESCONV_CODES + codes.ANNOMI_CODES:
        assert code.acts and set(code.acts) <= set(ACT_KINDS), code.key
    for code in codes.ESCONV_CODES:
        assert set(code.gold) <= set(codes.ESCONV_STRATEGIES), code.key
    for code in codes.ANNOMI_CODES:
        assert all(v in codes.ANNOMI_VALUES[f] for f, v in code.gold), code.key


def test_the_issue_goals_are_the_ones_printed() -> None:
    goals = {c.key: c.goal for c in codes.ESCONV_CODES + codes.ANNOMI_CODES if c.goal}
    assert goals == {
        "question": 0.75, "reflection_or_restatement": 0.55, "suggestion": 0.60,
        "self_disclosure": 0.50, "affirmation": 0.50,
        "reflection": 0.60, "open_question": 0.78, "advice": 0.55,
    }


BY_KEY = {c.key: c for c in codes.ESCONV_CODES}
MI = {c.key: c for c in codes.ANNOMI_CODES}


@pytest.mark.parametrize(
    ("code", "kinds", "expected"),
    [
        ("question", ["open_question"], True),
        ("question", ["closed_question", "care"], True),
        ("question", ["rhetorical_question"], False),  # not asking about them
        ("question", ["off_topic_question"], False),
        ("reflection_or_restatement", ["simple_reflection"], True),
        ("reflection_or_restatement", ["complex_reflection"], True),
        ("suggestion", ["advice"], True),
        ("suggestion", ["information"], False),
        ("self_disclosure", ["self_focus"], True),
        ("affirmation", ["validation"], True),
        ("affirmation", ["affirmation"], True),
        ("affirmation", ["care"], False),  # care is the reported variant only
        ("affirmation_with_care", ["care"], True),
        ("question", [], False),
    ],
)
def test_esconv_detection(code: str, kinds: list[str], expected: bool) -> None:
    assert codes.detects(BY_KEY[code], rated(*kinds)) is expected


def test_esconv_gold_merges_restatement_and_reflection_of_feelings() -> None:
    code = BY_KEY["reflection_or_restatement"]
    assert codes.esconv_gold(code, "Restatement or Paraphrasing")
    assert codes.esconv_gold(code, "Reflection of feelings")
    assert not codes.esconv_gold(code, "Questions")


def test_annomi_codes() -> None:
    labels = {"reflection": "complex", "question": "open", "therapist_input": "options"}
    assert codes.annomi_gold(MI["reflection"], labels)
    assert codes.annomi_gold(MI["complex_reflection"], labels)
    assert codes.annomi_gold(MI["open_question"], labels)
    assert not codes.annomi_gold(MI["closed_question"], labels)
    assert not codes.annomi_gold(MI["advice"], labels)  # options are not advice
    assert codes.annomi_gold(MI["advice"], {**labels, "therapist_input": "advice"})
    assert codes.detects(MI["reflection"], rated("simple_reflection"))
    assert not codes.detects(MI["complex_reflection"], rated("simple_reflection"))


# ------------------------------------------------------------------ the figures


def test_binary_metrics_by_hand() -> None:
    gold = [True, True, True, False, False, False]
    pred = [True, True, False, True, False, False]
    assert binary_counts(gold, pred) == (2, 1, 1)
    assert precision(gold, pred) == pytest.approx(2 / 3)
    assert recall(gold, pred) == pytest.approx(2 / 3)
    assert binary_f1(gold, pred) == pytest.approx(2 / 3)  # 2*2 / (2*2 + 1 + 1)
    assert binary_f1([True, False], [False, True]) == 0.0
    assert precision([True], [False]) == 0.0 and recall([False], [False]) == 0.0


def test_detection_metrics_by_hand() -> None:
    gold = [True, False, False, True]
    pred = [True, True, True, False]  # tp 1, fp 2, fn 1
    m = detection_metrics(gold, pred, goal=0.5, rounds=100)
    assert (m["precision"], m["recall"], m["f1"]) == (pytest.approx(1 / 3, abs=1e-4), 0.5, 0.4)
    assert (m["gold_positive"], m["predicted_positive"], m["n"], m["goal"]) == (2, 3, 4, 0.5)
    for name in ("f1", "precision", "recall"):
        lo, hi = m[f"{name}_ci95"]
        assert 0.0 <= lo <= m[name] <= hi <= 1.0, name


def test_score_esconv_one_vs_rest(tmp_path: Path) -> None:
    items = ds.load_esconv(write_esconv(tmp_path / "esc"))
    ratings = [
        [rated("open_question")],                   # Questions: hit
        [rated("complex_reflection", "closed_question")],  # Reflection: hit, and a question FP
        [rated("care")],                            # Restatement: missed
        [rated("advice")],                          # Suggestions: hit
        [rated("validation")],                      # Affirmation: hit
        [rated(status="unscored")],                 # "Hello": left out, counted
    ]
    out = score_esconv(items, ratings, rounds=0)
    assert (out["n_items"], out["unscored"]) == (5, 1)
    q = out["question"]
    assert (q["tp"], q["predicted_positive"], q["gold_positive"]) == (1, 2, 1)
    assert q["f1"] == pytest.approx(2 / 3, abs=1e-4)  # 2*1 / (2 + 1 + 0)
    r = out["reflection_or_restatement"]
    assert (r["precision"], r["recall"]) == (1.0, 0.5)
    assert out["suggestion"]["f1"] == 1.0 and out["affirmation"]["f1"] == 1.0
    assert out["self_disclosure"]["f1"] == 0.0 and out["self_disclosure"]["gold_positive"] == 0
    assert out["affirmation_with_care"]["predicted_positive"] == 2  # the care line too
    assert "note" not in out


def test_a_judge_without_acts_is_said_so() -> None:
    items = [ds.Item("a", [ds.Turn("hi")], {}, meta={"strategy": "Questions"})]
    out = score_esconv(items, [[rated()]], rounds=0)
    assert out["question"]["f1"] == 0.0 and "tagged no act" in out["note"]


def test_share_of_reflections_ranks_like_the_ratio() -> None:
    assert share_of_reflections(0, 0) is None
    assert share_of_reflections(3, 0) == 1.0  # reflections, no question: the top
    assert share_of_reflections(0, 2) == 0.0
    # R/Q = 1/2 < 1 < 2 -> shares 1/3 < 1/2 < 2/3, in the same order
    assert share_of_reflections(1, 2) < share_of_reflections(2, 2) < share_of_reflections(4, 2)


def test_score_annomi_codes_and_ratio(tmp_path: Path) -> None:
    items = ds.load_annomi(write_annomi(tmp_path / "anno"))
    ratings = [
        [rated("open_question")],
        [rated("simple_reflection")],
        [rated("simple_reflection", "closed_question")],  # experts: complex + closed
        [rated("advice")],
        [rated()],  # the judge misses the closed question
    ]
    out = score_annomi(items, ratings, rounds=0)
    assert out["reflection"]["f1"] == 1.0
    assert out["complex_reflection"]["f1"] == 0.0  # called simple
    assert out["open_question"]["f1"] == 1.0
    cq = out["closed_question"]
    assert (cq["precision"], cq["recall"]) == (1.0, 0.5)
    assert out["advice"]["f1"] == 1.0
    ratio = out["ratio"]
    rows = {r["transcript"]: r for r in ratio["transcripts"]}
    # t1: judge 2 reflections / 2 questions, experts 2 / 2; t2: judge 0 / 0, experts 0 / 1
    assert rows["t1"]["judge"] == [2, 2] and rows["t1"]["experts"] == [2, 2]
    assert rows["t2"]["judge"] == [0, 0] and "judge_share" not in rows["t2"]
    assert (ratio["n"], ratio["left_out"]) == (1, 1)


def test_ratio_spearman_over_transcripts() -> None:
    def item(t: str, refl: str, q: str) -> ds.Item:
        meta = {"reflection": refl, "question": q, "therapist_input": "none"}
        return ds.Item(f"{t}/{refl}{q}", [ds.Turn("x")], {}, group=t, meta=meta)

    # Experts' shares: a 1/2, b 0, c 1. The judge orders them b < a < c as well.
    items = [item("a", "simple", "none"), item("a", "none", "open"),
             item("b", "none", "open"), item("b", "none", "closed"),
             item("c", "complex", "none")]
    ratings = [[rated("simple_reflection")], [rated("open_question")],
               [rated("closed_question")], [rated()],
               [rated("complex_reflection")]]
    out = score_annomi(items, ratings, rounds=50)["ratio"]
    assert out["n"] == 3 and out["spearman"] == pytest.approx(1.0)
    reversed_ratings = [[rated("open_question")], [rated("open_question")],
                        [rated("simple_reflection")], [rated()],
                        [rated("open_question")]]
    assert score_annomi(items, reversed_ratings, rounds=0)["ratio"]["spearman"] < 0


# ------------------------------------------------------------------ through `coach eval`


def test_eval_reports_esconv_and_annomi(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    esc, anno = write_esconv(tmp_path / "esc"), write_annomi(tmp_path / "anno")
    report = tmp_path / "r.json"
    code = main(["eval", "-q", "--no-robustness", "--bootstrap", "20",
                 "--cache", str(tmp_path / "c.sqlite"), "--dataset", f"esconv={esc}",
                 "--dataset", f"annomi={anno}", "--report", str(report),
                 "--chart", str(tmp_path / "c.png")])
    assert code == 0
    rep = json.loads(report.read_text())
    for key in ("question", "reflection_or_restatement", "suggestion", "self_disclosure",
                "affirmation"):
        m = rep["datasets"]["esconv"][key]
        assert {"f1", "precision", "recall", "f1_ci95", "goal"} <= set(m) and m["n"] == 6
    assert rep["datasets"]["annomi"]["advice"]["n"] == 5
    assert "spearman" in rep["datasets"]["annomi"]["ratio"]
    out = capsys.readouterr().out
    assert "ESConv strategies" in out and "AnnoMI MI codes" in out and ">= 0.75" in out
    assert (tmp_path / "c.png").stat().st_size > 0


def test_missing_esconv_and_annomi_name_their_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COACH_ESCONV_DIR", raising=False)
    monkeypatch.delenv("COACH_ANNOMI_DIR", raising=False)
    report = tmp_path / "r.json"
    assert main(["eval", "-q", "--no-robustness", "--no-cache", "--dataset", "esconv",
                 "--dataset", "annomi", "--report", str(report)]) == 0
    skipped = json.loads(report.read_text())["skipped"]
    assert "COACH_ESCONV_DIR" in skipped["esconv"] and "COACH_ANNOMI_DIR" in skipped["annomi"]


def test_esconv_from_its_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COACH_ESCONV_DIR", str(write_esconv(tmp_path / "esc")))
    for var in ("COACH_EPITOME_DIR", "COACH_LEND_AN_EAR_DIR", "COACH_ANNOMI_DIR"):
        monkeypatch.delenv(var, raising=False)
    report = tmp_path / "r.json"
    assert main(["eval", "-q", "--no-robustness", "--no-cache", "--bootstrap", "0",
                 "--report", str(report)]) == 0
    assert set(json.loads(report.read_text())["datasets"]) == {"gold", "esconv"}


def test_malformed_annomi_through_the_cli_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "anno" / ds.ANNOMI_FILE
    path.parent.mkdir()
    path.write_bytes(_annomi_line(reflection="deep"))
    code = main(["eval", "-q", "--no-cache", "--no-robustness", "--dataset",
                 f"annomi={path.parent}"])
    err = capsys.readouterr().err
    assert code == 2 and "reflection='deep'" in err and "Traceback" not in err
