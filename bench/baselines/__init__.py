"""What a competent user writes from the official docs instead of cdk-processing, one alternative per module.

Each module exposes ``add_jobs(stack, n)``: one shared bucket and ``n`` comparable processing jobs (the same image,
one S3 input, one S3 output, ``ml.m5.xlarge``, 30 GiB, 45 minutes at most), as ``bench/common.py`` does for the
library.
"""
