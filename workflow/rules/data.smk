rule prepare_data:
    output:
        multiext(f"{layout.DATA}/", *layout.DATA_FILES),
    log:
        layout.rule_log("prepare_data", "{dataset}"),
    benchmark:
        f"{layout.BENCHMARKS}/prepare_data/{{dataset}}.tsv"
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
        data_root=CONFIG.data_root,
        split_seed=CONFIG.split.seed,
        val_size=CONFIG.split.val_size,
        options=lambda wildcards: json.dumps(CONFIG.dataset_options.get(wildcards.dataset, {})),
    conda:
        BNN_ENV
    shell:
        "bnn prepare --dataset {wildcards.dataset} --out-dir {params.out_dir} "
        "--data-root {params.data_root} --split-seed {params.split_seed} "
        "--val-size {params.val_size} --options '{params.options}' > {log} 2>&1"
