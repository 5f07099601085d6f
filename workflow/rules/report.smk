rule aggregate:
    input:
        PLAN.eval_files(),
    output:
        csv=report(
            "results/tables/accuracy.csv",
            caption="../report/accuracy_table.rst",
            category="Tables",
        ),
        html=report(
            "results/tables/accuracy.html",
            caption="../report/accuracy_table.rst",
            category="Tables",
        ),
    log:
        "results/logs/aggregate.log",
    conda:
        BNN_ENV
    shell:
        "bnn aggregate --out {output.csv} --html {output.html} {input} > {log} 2>&1"


rule summary_table:
    input:
        "results/tables/accuracy.csv",
    output:
        csv=report(
            "results/tables/summary.csv",
            caption="../report/summary_table.rst",
            category="Tables",
        ),
        md="results/tables/summary.md",
        html=report(
            "results/tables/summary.html",
            caption="../report/summary_table.rst",
            category="Tables",
        ),
    log:
        "results/logs/summary_table.log",
    conda:
        BNN_ENV
    shell:
        "bnn summarize --table {input} --csv {output.csv} --md {output.md} --html {output.html} > {log} 2>&1"


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
        "bnn plot accuracy --table {input} --out {output} > {log} 2>&1"


rule figure_accuracy_vs_size:
    input:
        "results/tables/accuracy.csv",
    output:
        report(
            "results/figures/accuracy_vs_size.png",
            caption="../report/accuracy_vs_size.rst",
            category="Figures",
        ),
    log:
        "results/logs/figure_accuracy_vs_size.log",
    conda:
        BNN_ENV
    shell:
        "bnn plot size --table {input} --out {output} > {log} 2>&1"


rule figure_learning_curves:
    input:
        PLAN.curve_files(),
    output:
        report(
            "results/figures/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="Figures",
        ),
    log:
        "results/logs/figure_learning_curves.log",
    conda:
        BNN_ENV
    shell:
        "bnn plot curves --out {output} {input} > {log} 2>&1"


rule figure_iterative:
    input:
        PLAN.iterative_files(),
    output:
        report(
            "results/figures/iterative.png",
            caption="../report/iterative.rst",
            category="Figures",
        ),
    log:
        "results/logs/figure_iterative.log",
    conda:
        BNN_ENV
    shell:
        "bnn plot iterative --out {output} {input} > {log} 2>&1"


rule figure_optimizers:
    input:
        PLAN.optimizer_files(),
    output:
        report(
            "results/figures/optimizers.png",
            caption="../report/optimizers.rst",
            category="Figures",
        ),
    log:
        "results/logs/figure_optimizers.log",
    conda:
        BNN_ENV
    shell:
        "bnn plot optimizers --out {output} {input} > {log} 2>&1"


rule figure_sensitivity:
    input:
        PLAN.sensitivity_files(),
    output:
        report(
            "results/figures/sensitivity.png",
            caption="../report/sensitivity.rst",
            category="Figures",
        ),
    log:
        "results/logs/figure_sensitivity.log",
    conda:
        BNN_ENV
    shell:
        "bnn plot sensitivity --out {output} {input} > {log} 2>&1"


rule results_readme:
    input:
        "results/tables/accuracy.csv",
        "results/tables/summary.csv",
        "results/tables/summary.md",
        PLAN.figure_files(),
    output:
        "results/README.md",
    log:
        "results/logs/results_readme.log",
    conda:
        BNN_ENV
    shell:
        "bnn results-readme --out {output} {input} > {log} 2>&1"
