# Deploy (config deploy:): every evaluated run's final checkpoint exported to OpenVINO IR (x86 BinaryConvolution
# kernels) and plain ONNX, verified against PyTorch on the test split and timed per backend (bnn/deploy). Its
# inference.csv feeds the inference table, the summary's speed-up and the accuracy-vs-speed-up figure. Batches,
# threads and repeats are what it measures (params: changing one re-measures).
rule deploy:
    input:
        checkpoint=f"{layout.RUN}/{layout.CHECKPOINT}",
        data=multiext(f"{layout.DATA}/", "meta.json", "test.pt"),
    output:
        rows=f"{layout.RUN}/{layout.DEPLOY_ROWS}",
        record=f"{layout.RUN}/{layout.DEPLOY_RECORD}",
        models=[f"{layout.RUN}/{name}" for name in layout.DEPLOY_MODELS],
    log:
        f"{layout.RUN}/{layout.DEPLOY_LOG}",
    params:
        data=lambda wildcards, input: os.path.dirname(input.data[0]),
        out_dir=lambda wildcards, output: os.path.dirname(output.rows),
        batches=" ".join(f"--batch {batch}" for batch in PLAN.deploy.batch),
        repeats=PLAN.deploy.repeats,
        threads=PLAN.deploy.threads,
    threads: PLAN.deploy.threads
    conda:
        BNN_ENV
    shell:
        "bnn deploy --checkpoint {input.checkpoint} --data {params.data} --out-dir {params.out_dir} "
        "{params.batches} --threads {params.threads} --repeats {params.repeats} > {log} 2>&1"
