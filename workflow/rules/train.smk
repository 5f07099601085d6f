# One job per stage. The stage's resolved spec is a param, so changing any setting it uses re-runs
# exactly this stage and what depends on it. Inputs: prepared data, the previous stage's checkpoint
# (init), the teacher's checkpoint (KD).
rule train_stage:
    input:
        unpack(lambda wildcards: stage_of(wildcards).inputs()),
    output:
        checkpoint=f"{RUN}/checkpoint.pt",
        metrics=f"{RUN}/metrics.csv",
        spec=f"{RUN}/spec.yaml",
    log:
        f"{RUN}/train.log",
    benchmark:
        f"{RUN}/benchmark.tsv"
    params:
        spec=lambda wildcards: json.dumps(stage_of(wildcards).spec, sort_keys=True),
        run_dir=lambda wildcards, output: os.path.dirname(output.checkpoint),
    threads: lambda wildcards: int(stage_of(wildcards).spec.get("threads", 1))
    conda:
        BNN_ENV
    shell:
        "bnn train --spec {params.spec:q} --run-dir {params.run_dir} --threads {threads} > {log} 2>&1"
