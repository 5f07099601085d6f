rule evaluate:
    input:
        checkpoint=f"{RUN}/checkpoint.pt",
        meta="results/data/{dataset}/meta.json",
        test="results/data/{dataset}/test.pt",
        # the benchmark.tsv of each of the run's stages: its cost (wall_seconds, max_rss_mb) in eval.json
        benchmarks=lambda wildcards: PLAN.benchmark_files(
            wildcards.dataset, wildcards.model, wildcards.method, wildcards.seed
        ),
    output:
        f"{RUN}/eval.json",
    log:
        f"{RUN}/evaluate.log",
    params:
        data=lambda wildcards, input: os.path.dirname(input.meta),
    conda:
        BNN_ENV
    shell:
        "bnn evaluate --checkpoint {input.checkpoint} --data {params.data} --out {output} "
        "--benchmarks {input.benchmarks} > {log} 2>&1"
