rule evaluate:
    input:
        checkpoint=f"{layout.RUN}/{layout.CHECKPOINT}",
        data=multiext(f"{layout.DATA}/", "meta.json", "test.pt"),
        # the benchmark.tsv of each of the run's stages: its cost (wall_seconds, max_rss_mb) in eval.json
        benchmarks=lambda wildcards: PLAN.benchmark_files(
            wildcards.dataset, wildcards.model, wildcards.method, wildcards.seed
        ),
    output:
        record=f"{layout.RUN}/{layout.EVAL}",
        predictions=f"{layout.RUN}/{layout.PREDICTIONS}",
    log:
        f"{layout.RUN}/{layout.EVAL_LOG}",
    params:
        data=lambda wildcards, input: os.path.dirname(input.data[0]),
    conda:
        BNN_ENV
    shell:
        "bnn evaluate --checkpoint {input.checkpoint} --data {params.data} --out {output.record} "
        "--predictions {output.predictions} "
        "--benchmarks {input.benchmarks} > {log} 2>&1"
