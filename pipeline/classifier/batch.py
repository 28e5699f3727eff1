"""Batch prediction on a Dask cluster: `pipeline predict --cluster ADDRESS --input BIG --output OUT`.

    pipeline predict --model runs/rnn/model.npz --input big.txt --output labels.tsv --cluster local
    pipeline predict --model M --input big.txt.gz --output labels.tsv --cluster tcp://host:8786 --partitions 64

The model is sent to every worker once (scattered with broadcast=True; the tasks reference the future, and
each worker keeps one Classifier, whose projected-row cache fills across its tasks). The input is cut into
partitions, byte ranges at line boundaries (pipeline/cluster.py, plan_shards: sizes measured on the workers;
a partition owns the lines whose first byte lies in its range, text.ByteRange). One task per partition labels
its lines exactly as the one-process predict does (commands._predict_stream: same batches of BATCH lines from
the partition's start, same formats) into its own part file, written atomically; the driver then joins the
parts in input order into the output, atomically, and removes them. The output is byte for byte the
one-process output (tests/test_dask_stage2.py).

The part files live beside the output (a hidden folder `.OUT.parts-<id>`): the workers and the driver must
see the same file system there, and the same input path (give absolute paths on a cluster of machines). A
compressed input is read by each partition from the file's start (it cannot seek; the bytes before the
range are decompressed and dropped): for large inputs give a plain file. Notes on empty lines and lines
with no known word are counted over all parts, with their line numbers in the whole input.
"""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from .. import progress
from ..atomicio import atomic_path

PARTS_PER_THREAD = 4     # partitions per worker thread when --partitions is not given: a slow one delays less


def predict_on_cluster(client, clf, input, output, fmt, k, encoding, partitions=0) -> dict:
    """Label the lines of `input` into `output` on the cluster; returns the skipped lines {reason: [numbers]}
    (1-based line numbers of the whole input), as commands._predict_stream fills them."""
    from ..cluster import broadcast, plan_shards, worker_threads
    n = partitions or PARTS_PER_THREAD * sum(worker_threads(client).values())
    shards = plan_shards(client, [Path(input).resolve()], n)
    [model] = broadcast(client, clf)
    output = Path(output)
    parts = output.parent / f".{output.name}.parts-{uuid.uuid4().hex[:12]}"
    parts.mkdir(parents=True)
    try:
        token = parts.name.rsplit("-", 1)[1]
        futures = [client.submit(predict_part, model, shard, str(parts / f"part-{i:05d}"), fmt, k, encoding,
                                 key=f"predict-{token}-{i}", pure=False) for i, shard in enumerate(shards)]
        progress.say(f"predict: {len(shards)} partitions of {input} on the cluster")
        results = client.gather(futures)
        with atomic_path(output) as tmp, open(tmp, "wb") as out:
            for i in range(len(shards)):
                with open(parts / f"part-{i:05d}", "rb") as part:
                    shutil.copyfileobj(part, out)
    finally:
        shutil.rmtree(parts, ignore_errors=True)
    skipped, before = {}, 0
    for lines, part_skipped in results:
        for reason, numbers in part_skipped.items():
            skipped.setdefault(reason, []).extend(before + number for number in numbers)
        before += lines
    return skipped


def predict_part(clf, shard, part_path, fmt, k, encoding):
    """On a worker: label the lines of `shard` (a list of text.ByteRange) into `part_path`, atomically;
    returns (lines, {reason: [line numbers within the shard, 1-based]})."""
    from ..commands import _predict_stream
    from ..text import iter_lines
    from .threads import blas_threads
    counted = [0]

    def lines():
        for line in iter_lines(shard, encoding):
            counted[0] += 1
            yield line
    skipped = {"empty line": [], "no known word": []}
    clf.threads = 1                          # one thread per task: the worker's threads run tasks side by side
    with blas_threads(1), atomic_path(part_path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        _predict_stream(clf, lines(), out, fmt, k, skipped)
    return counted[0], skipped
