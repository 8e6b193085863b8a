from snakemake.utils import min_version

min_version("9.20")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/resources.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/mosaic.smk"
include: "workflow/rules/recon.smk"
include: "workflow/rules/segment.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/particles.smk"
include: "workflow/rules/transport.smk"
include: "workflow/rules/validate.smk"
include: "workflow/rules/fits.smk"
include: "workflow/rules/calendering.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/exports.smk"


rule all:
    default_target: True
    input:
        all_targets(),
        "results/campaign_status.txt",
