rule aggregate:
    input:
        PLAN.eval_files(),
    output:
        report(
            "results/tables/accuracy.csv",
            caption="../report/accuracy_table.rst",
            category="Tables",
        ),
    log:
        "results/logs/aggregate.log",
    conda:
        BNN_ENV
    shell:
        "bnn aggregate --out {output} {input} > {log} 2>&1"


rule figure_accuracy:
    input:
        "results/tables/accuracy.csv",
    output:
        report(
            "results/figures/accuracy.png",
            caption="../report/accuracy.rst",
            category="Figures",
        ),
    log:
        "results/logs/figure_accuracy.log",
    conda:
        BNN_ENV
    shell:
        "bnn plot --table {input} --out {output} > {log} 2>&1"
