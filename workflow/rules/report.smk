# Tables and figures: one generic rule each, for every table and figure registered in bnn/report (a new one is a
# module plus its caption workflow/report/{tables,figures}/NAME.rst). Which files each reads comes from the plan.
rule table:
    input:
        lambda wildcards: targets.table_inputs(PLAN, wildcards.table),
    output:
        csv=report(
            layout.table("{table}"),
            caption="../report/caption.rst",
            category="Tables",
        ),
        html=report(
            layout.table("{table}", "html"),
            caption="../report/caption.rst",
            category="Tables",
        ),
        md=layout.table("{table}", "md"),
    log:
        layout.rule_log("table", "{table}"),
    params:
        caption=lambda wildcards: caption("tables", wildcards.table),
        settings=lambda wildcards: json.dumps(targets.table_settings(PLAN, wildcards.table)),
    conda:
        BNN_ENV
    shell:
        "bnn table {wildcards.table} --out {output.csv} --settings {params.settings:q} {input} > {log} 2>&1"


rule figure:
    input:
        lambda wildcards: targets.figure_inputs(PLAN, wildcards.figure),
    output:
        report(
            layout.figure("{figure}"),
            caption="../report/caption.rst",
            category="Figures",
        ),
    log:
        layout.rule_log("figure", "{figure}"),
    params:
        caption=lambda wildcards: caption("figures", wildcards.figure),
    conda:
        BNN_ENV
    shell:
        "bnn figure {wildcards.figure} --out {output} {input} > {log} 2>&1"


rule results_readme:
    input:
        targets.report_files(PLAN),
    output:
        layout.README,
    log:
        layout.rule_log("results_readme"),
    conda:
        BNN_ENV
    shell:
        "bnn results-readme --out {output} {input} > {log} 2>&1"
