rule evaluate:
    input:
        checkpoint=f"{RUN}/checkpoint.pt",
        meta="results/data/{dataset}/meta.json",
        test="results/data/{dataset}/test.pt",
    output:
        f"{RUN}/eval.json",
    log:
        f"{RUN}/evaluate.log",
    params:
        data=lambda wildcards, input: os.path.dirname(input.meta),
    conda:
        BNN_ENV
    shell:
        "bnn evaluate --checkpoint {input.checkpoint} --data {params.data} --out {output} > {log} 2>&1"
