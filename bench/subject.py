"""One subject of the benchmarks synthesized in a fresh process, as ``cdk synth`` runs an app (jsii's start-up
included): ``python bench/subject.py SUBJECT N OUTDIR``; SUBJECT is a key of ``perf.WHOLE_PROCESS``."""

from __future__ import annotations

import sys

from common import CFN, LIBRARY, SUBJECTS, synth

WHOLE_PROCESS = {"library": SUBJECTS[LIBRARY], "cfn": SUBJECTS[CFN]}

if __name__ == "__main__":
    name, n, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    synth(WHOLE_PROCESS[name], n, outdir)
