# One job per stage. What the stage computes (its spec without the speed-only keys) is a param, so changing any
# setting it uses re-runs exactly this stage and what depends on it; the speed-only settings (threads, workers,
# compile, progress) travel as threads and a resource, which never trigger a re-run. Inputs: prepared data, the
# previous stage's checkpoint (init), the teacher's checkpoint (KD). Resources (cluster executors, e.g.
# profiles/slurm) come from the stage's spec via bnn/plan/resources.py; a profile's set-resources overrides them.
rule train_stage:
    input:
        unpack(lambda wildcards: stage_of(wildcards).inputs()),
    output:
        checkpoint=f"{layout.RUN}/{layout.CHECKPOINT}",
        metrics=f"{layout.RUN}/{layout.METRICS}",
        spec=f"{layout.RUN}/{layout.SPEC}",
    log:
        f"{layout.RUN}/{layout.TRAIN_LOG}",
    benchmark:
        f"{layout.RUN}/{layout.BENCHMARK}"
    params:
        spec=lambda wildcards: json.dumps(stage_of(wildcards).spec.result_dict(), sort_keys=True),
        run_dir=lambda wildcards, output: os.path.dirname(output.checkpoint),
    threads: lambda wildcards: stage_resources.cpus(stage_of(wildcards).spec)
    resources:
        speed=lambda wildcards: json.dumps(stage_resources.speed(stage_of(wildcards).spec)),
        cpus_per_task=lambda wildcards: stage_resources.cpus(stage_of(wildcards).spec),
        mem_mb=lambda wildcards: stage_resources.mem_mb(stage_of(wildcards).spec),
        runtime=lambda wildcards: stage_resources.runtime_minutes(stage_of(wildcards).spec),
        gpu=lambda wildcards: stage_resources.gpus(stage_of(wildcards).spec),
    conda:
        BNN_ENV
    shell:
        "bnn train --spec {params.spec:q} --run-dir {params.run_dir} --threads {threads} "
        "--speed {resources.speed:q} > {log} 2>&1"


# Sensitivity pre-training (per_layer recipes): one train_stage job per layer, gathered here.
rule sensitivity_table:
    input:
        lambda wildcards: [
            stage.file(name)
            for stage in PLAN.experiment_stages(**wildcards)
            for name in (layout.METRICS, layout.SPEC)
        ],
    output:
        layout.SENSITIVITY,
    log:
        layout.SENSITIVITY_LOG,
    params:
        run_dirs=lambda wildcards: [stage.dir for stage in PLAN.experiment_stages(**wildcards)],
    conda:
        BNN_ENV
    shell:
        "bnn sensitivity --out {output} {params.run_dirs} > {log} 2>&1"
