"""Analysis on a dev set: dev-set evaluation of kept-layer sets, layer selection strategies, SVCCA,
and the reports of decodes and trainings."""
