"""Private machinery every job kind composes: the parts of a job and the protocols they bind against."""
