# One job per stage. The stage's resolved spec is a param, so changing any setting it uses re-runs
# exactly this stage and what depends on it. Inputs: prepared data, the previous stage's checkpoint
# (init), the teacher's checkpoint (KD). Resources (cluster executors, e.g. profiles/slurm) come from the
# stage's spec via bnn/resources.py; a profile's set-resources overrides them.
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
    threads: lambda wildcards: stage_resources.cpus(stage_of(wildcards).spec)
    resources:
        cpus_per_task=lambda wildcards: stage_resources.cpus(stage_of(wildcards).spec),
        mem_mb=lambda wildcards: stage_resources.mem_mb(stage_of(wildcards).spec),
        runtime=lambda wildcards: stage_resources.runtime_minutes(stage_of(wildcards).spec),
        gpu=lambda wildcards: stage_resources.gpus(stage_of(wildcards).spec),
    conda:
        BNN_ENV
    shell:
        "bnn train --spec {params.spec:q} --run-dir {params.run_dir} --threads {threads} > {log} 2>&1"


# Sensitivity pre-training (per_layer recipes): one train_stage job per layer, gathered here.
rule sensitivity_table:
    input:
        lambda wildcards: [
            f"{stage.dir}/{name}"
            for stage in PLAN.layer_stages(**wildcards)
            for name in ("metrics.csv", "spec.yaml")
        ],
    output:
        "results/runs/{dataset}/{model}/{method}/seed{seed}/sensitivity.csv",
    log:
        "results/runs/{dataset}/{model}/{method}/seed{seed}/sensitivity.log",
    params:
        run_dirs=lambda wildcards: [stage.dir for stage in PLAN.layer_stages(**wildcards)],
    conda:
        BNN_ENV
    shell:
        "bnn sensitivity --out {output} {params.run_dirs} > {log} 2>&1"
