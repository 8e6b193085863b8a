"""Rule campaign_status: fail the run when any scan failed, after everything else is built."""

import pandas as pd

from batteryct import io, runlog

sm = snakemake  # noqa: F821
log = runlog.configure(sm.log[0])
failures = pd.read_parquet(sm.input.failures)
n_targets = len(sm.input.targets)
if len(failures):
    lines = [f"{row.sample}/{row.scan} (rule {row.failed_rule}): {row.error}" for row in failures.itertuples()]
    message = (
        f"{len(failures)} scan(s) failed; the campaign tables and figures were built from the others "
        f"(see results/tables/failures.parquet and each scan's log). Fix them and rerun the same command:\n  "
        + "\n  ".join(lines)
    )
    log.error(message)
    raise runlog.ScanError(message)
text = f"complete: {n_targets + 1} campaign targets built, no scan failed\n"
io.atomic_write_bytes(sm.output.status, text.encode("utf-8"))
log.info(text.strip())
