"""The plan: every experiment and stage a config asks for (``experiments.Plan``), the checks a stage passes
before it runs (``checks``), the results paths (``layout``) and a stage's compute resources (``resources``)."""
