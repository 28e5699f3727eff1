"""The commands users run after training, each a thin layer over the library (cli.py parses, these print).

    pipeline predict --model M [--input FILE | TEXT...] [--output FILE] [--format tsv|json] [--k N]
    pipeline evaluate-classifier --model M --data FILE... [--format auto|class_files|label_first|tsv|fasttext]
    pipeline neighbors --vectors V [WORD...] [--positive king woman --negative man] [--topn N]
    pipeline export --vectors V (--text OUT | --binary OUT)

predict writes one line per input, in order: tsv `label<TAB>p_<label>=0.1234...` (every label in the model's
order; with --k N the N most probable, most probable first), json one object per line {"label", "probabilities"}.
An empty line, or one whose tokens are all unknown to the vectors, is not labelled: its label is empty (json:
null) with a note (`note=empty line` / "note": "no known word"), and a note on stderr counts them with
their line numbers. --output is written atomically: complete, or not at all.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from .atomicio import atomic_path, atomic_write_json
from .errors import UserError, shown, shown_list

BATCH = 256          # sentences labelled at once: memory stays flat on any input length
SHOWN = 10           # line numbers listed in a note


# ---------------------------------------------------------------------------------------------------
# predict
# ---------------------------------------------------------------------------------------------------
def predict(model, texts=(), input=None, output=None, fmt="tsv", k=None, encoding="utf-8", cluster=None,
            partitions=0) -> None:
    """Label `texts`, the lines of `input` (a file) or stdin; write to `output` (atomically) or stdout. With a
    `cluster` address (ClusterConfig.address: local or tcp://host:port) the lines of `input` are labelled in
    `partitions` byte ranges on a Dask cluster into `output` (classifier/batch.py): the same bytes."""
    from .classifier.predict import Classifier, warm_up
    from .classifier.threads import blas_threads
    from .config import resolve_workers
    if texts and input:
        raise UserError("give sentences as arguments or --input FILE, not both")
    if len(texts) == 1 and Path(texts[0]).is_file():
        raise UserError(f"{texts[0]} is a file: to label its lines pass --input {texts[0]} (a lone argument is "
                        f"labelled as a sentence)")
    if k is not None and k < 1:
        raise UserError(f"--k {k}: give the number of most probable labels to print, at least 1")
    if input is not None and not Path(input).is_file():
        raise UserError(f"input file not found: {input}; pass an existing file with --input (or use stdin)")
    refuse_overwrite(output, [model, input], "--output")
    if not texts and input is None and sys.stdin is None:
        raise UserError("no input: stdin is closed; pass sentences as arguments or --input FILE")
    if cluster is not None and (input is None or output is None):
        raise UserError("--cluster labels a file in partitions: give --input FILE and --output FILE")
    if partitions < 0:
        raise UserError(f"--partitions {partitions}: give a count, or 0 for 4 per worker thread")
    # The model file through predict.Classifier, the object RNNClassifier.predict_proba calls too (the
    # estimator itself would load scikit-learn: seconds for a command that labels one sentence).
    clf = Classifier.load(model)
    clf.threads = resolve_workers(0)              # every core: batches in parallel (Predictor)
    warm_up(clf)
    k = len(clf.labels) if k is None else min(k, len(clf.labels))
    where = "argument" if texts else "line"
    lines = iter(texts) if texts else _input_lines(input, encoding)
    skipped = {"empty line": [], "no known word": []}
    if cluster is not None:
        from .classifier.batch import predict_on_cluster
        from .cluster import connect
        from .config import ClusterConfig, from_dict
        with connect(from_dict(ClusterConfig, {"address": cluster}, "cluster")) as client:
            skipped.update(predict_on_cluster(client, clf, input, output, fmt, k, encoding, partitions))
        _note_skipped(skipped, where)
        return
    with blas_threads(1):
        if output is None:
            _predict_stream(clf, lines, sys.stdout, fmt, k, skipped)
        else:
            with atomic_path(output) as tmp, open(tmp, "w", encoding="utf-8") as out:
                _predict_stream(clf, lines, out, fmt, k, skipped)
    _note_skipped(skipped, where)


def _input_lines(path, encoding):
    """Lines of `path` (streamed; .gz etc. read directly) or of stdin, without their line ends."""
    if path is not None:
        from .text import iter_lines
        yield from iter_lines([Path(path)], encoding)
        return
    from .text import ascii_compatible
    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:                             # a text stream (tests, embedding programs)
        lines = (line.rstrip("\r\n") for line in sys.stdin)
    elif not ascii_compatible(encoding):        # UTF-16 / UTF-32: decode the stream, then cut lines
        import io
        lines = (line.rstrip("\r\n") for line in io.TextIOWrapper(raw, encoding=encoding, newline=""))
    else:
        lines = _decoded(raw, encoding)
    try:
        for number, line in enumerate(lines, start=1):
            if "\ufeff" in line:                  # a byte-order mark is never part of a word
                line = line.replace("\ufeff", "")
            if "\x00" in line:
                raise UserError(f"stdin:{number}: a NUL byte in the text (binary data?); give text, one sentence "
                                f"per line")
            yield line
    except UnicodeError as exc:
        raise UserError(f"stdin: bytes are not valid {encoding} ({str(exc)[:80]}); pass the right --encoding") from None


def _decoded(raw, encoding):
    """Lines of the byte stream `raw` decoded one by one; the first is checked for a UTF-16/32 byte-order mark."""
    for number, data in enumerate(raw, start=1):
        if number == 1 and data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise UserError(f"stdin is UTF-16 or UTF-32 text (it starts with a byte-order mark), not {encoding}; "
                            f"pass --encoding utf-16 (or utf-32)")
        try:
            yield data.decode(encoding).rstrip("\r\n")
        except UnicodeDecodeError:
            raise UserError(f"stdin:{number}: bytes are not valid {encoding}; pass the right --encoding") from None


def refuse_overwrite(output, inputs, option) -> None:
    """UserError when the file `output` would be written over one of `inputs` (a model, data, vectors)."""
    if output is None:
        return
    out = Path(output).resolve()
    for inp in inputs:
        if inp is not None and Path(inp).resolve() == out:
            raise UserError(f"{option} {shown(str(output))} is also an input of this command; writing it would "
                            f"destroy that input: give another file name")


def _predict_stream(clf, lines, out, fmt, k, skipped) -> None:
    batch, first = [], 1
    for line in lines:
        batch.append(line)
        if len(batch) == BATCH:
            _predict_batch(clf, batch, first, out, fmt, k, skipped)
            first += len(batch)
            batch = []
    if batch:
        _predict_batch(clf, batch, first, out, fmt, k, skipped)


def _predict_batch(clf, batch, first, out, fmt, k, skipped) -> None:
    """Label the sentences of `batch` that have a known word; mark the others; write one line each."""
    enc = clf.encoder
    reasons = []
    for text in batch:
        tokens = enc.tokenizer(text)
        reasons.append("empty line" if not tokens else
                       None if any(t in enc.index for t in tokens) else "no known word")
    todo = [i for i, r in enumerate(reasons) if r is None]
    probs = clf.predict_proba([batch[i] for i in todo]) if todo else np.zeros((0, 0))
    rows = dict(zip(todo, probs))
    labels = clf.labels
    for i, reason in enumerate(reasons):
        if reason is not None:
            skipped[reason].append(first + i)
        out.write(_format(labels, rows.get(i), reason, fmt, k) + "\n")
    out.flush()


def _format(labels, probs, reason, fmt, k) -> str:
    if probs is None:
        return json.dumps({"label": None, "note": reason}) if fmt == "json" else f"\tnote={reason}"
    order = np.argsort(-probs, kind="stable")[:k] if k < len(labels) else range(len(labels))
    best = labels[int(np.argmax(probs))]
    if fmt == "json":
        return json.dumps({"label": best, "probabilities": {labels[j]: round(float(probs[j]), 6) for j in order}},
                          ensure_ascii=False)
    return best + "".join(f"\tp_{labels[j]}={probs[j]:.4f}" for j in order)


def _note_skipped(skipped, unit) -> None:
    """One note on stderr: how many inputs (lines or arguments) were not labelled, why, and which."""
    parts = []
    for reason, numbers in skipped.items():
        if numbers:
            s = "s" if len(numbers) > 1 else ""
            what = f"empty {unit}{s}" if reason == "empty line" else f"{unit}{s} with no known word"
            shown = ", ".join(map(str, numbers[:SHOWN])) + (", ..." if len(numbers) > SHOWN else "")
            parts.append(f"{len(numbers)} {what} ({unit}{s} {shown})")
    if parts:
        print(f"note: not labelled (empty label in the output): {'; '.join(parts)}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------------
# evaluate-classifier
# ---------------------------------------------------------------------------------------------------
def evaluate_classifier(model, data, fmt="auto", encoding="utf-8", json_path=None) -> dict:
    """Score a model file on labelled files (fastText's `test`): print accuracy, macro-F1, per-class
    precision / recall / F1 / support and the confusion matrix; also as JSON to `json_path`."""
    from .classifier.data import read_labelled
    from .classifier.estimator import RNNClassifier
    from .classifier.predict import warm_up
    refuse_overwrite(json_path, [model, *data], "--json")
    clf = RNNClassifier.load(model)
    examples = read_labelled(data, fmt, encoding)
    names = clf.classifier_.labels
    for label, where in zip(examples.labels, examples.origin):
        if label not in names:
            raise UserError(f"{where}: label {shown(label)} is not one of the model's labels ({shown_list(names)}); "
                            f"score it on data with those labels, or check --format")
    warm_up(clf.classifier_)
    report = clf.classification_report(examples.texts, [clf.classes_[names.index(l)] for l in examples.labels])
    report.update(model=str(model), data=[str(d) for d in data], sentences=len(examples))
    print(format_report(report))
    if json_path:
        atomic_write_json(json_path, report)
    return report


def format_report(r) -> str:
    """A classification report (metrics.classification_report) as a readable table."""
    labels = r["labels"]
    width = max(12, *(len(l) + 2 for l in labels))
    lines = [f"sentences {r['sentences']}, classes {len(labels)}: accuracy {r['accuracy']:.4f}, "
             f"macro-F1 {r['macro_f1']:.4f}", "",
             f"{'class':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for label in labels:
        c = r["per_class"][label]
        lines.append(f"{label:<{width}}{c['precision']:>10.4f}{c['recall']:>10.4f}{c['f1']:>10.4f}{c['support']:>10d}")
    lines += ["", "confusion matrix (rows: true class, columns: predicted)",
              " " * width + "".join(f"{l[:9]:>10}" for l in labels)]
    for label, row in zip(labels, r["confusion_matrix"]):
        lines.append(f"{label:<{width}}" + "".join(f"{n:>10d}" for n in row))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# neighbors, export
# ---------------------------------------------------------------------------------------------------
def neighbors(vectors, words=(), positive=(), negative=(), topn=10) -> None:
    """Nearest words of each query word, and the answer to the analogy positive - negative. Queries are
    lower-cased as the vectors' tokenizer did (config.yaml beside them; lower-case when there is none); an
    unknown query word is skipped with a note."""
    from .vectors import load_vectors, saved_tokenizer
    if not words and not positive:
        raise UserError("give query words (pipeline neighbors --vectors V king queen) or an analogy "
                        "(--positive king woman --negative man)")
    if negative and not positive:
        raise UserError("--negative needs --positive words too, e.g. --positive king woman --negative man")
    if topn < 1:
        raise UserError(f"--topn {topn}: give how many neighbours to print, at least 1")
    wv = load_vectors(vectors)
    tok = saved_tokenizer(vectors)
    lowercase = tok.lowercase if tok is not None else True

    def known(word):
        as_tokenized = word.lower() if lowercase else word
        return as_tokenized if as_tokenized in wv else word if word in wv else None

    unknown = [w for w in list(words) + list(positive) + list(negative) if known(w) is None]
    in_analogy = [w for w in unknown if w in positive or w in negative]
    if in_analogy:
        raise UserError(f"cannot answer the analogy: {', '.join(map(shown, in_analogy[:5]))} not in the vocabulary of "
                        f"{vectors} ({len(wv)} words)")
    if unknown and len(unknown) == len(words) and not positive:
        raise UserError(f"none of the query words is in the vocabulary of {vectors} ({len(wv)} words): "
                        f"{shown_list(unknown)}")
    for word in unknown:
        print(f"note: {shown(word)} is not in the vocabulary of {vectors} ({len(wv)} words); skipped", file=sys.stderr)
    queries = [([known(w)], [], known(w)) for w in words if known(w) is not None]
    if positive:
        pos, neg = [known(w) for w in positive], [known(w) for w in negative]
        queries.append((pos, neg, " + ".join(pos) + "".join(f" - {w}" for w in neg)))
    for pos, neg, title in queries:
        print(title)
        for other, sim in wv.most_similar(positive=pos, negative=neg, topn=topn):
            print(f"  {other:<20} {sim:.4f}")


def export(vectors, text=None, binary=None) -> Path:
    """Rewrite a vectors file in word2vec's text or binary format, atomically."""
    from . import progress
    from .vectors import load_vectors, save_vectors
    out = Path(text if text is not None else binary)
    refuse_overwrite(out, [vectors], "--text" if text is not None else "--binary")
    wv = load_vectors(vectors)
    save_vectors(out, wv, binary=text is None)
    progress.say(f"wrote {out}: {len(wv):,} words x {wv.dim}, word2vec {'text' if text is not None else 'binary'} "
                 f"format")
    return out
