"""`rest compare`: two runs item by item. `paired_items` is the pure comparison, `inputs` reads runs,
score files and BFCL result files and renders the comparison."""
