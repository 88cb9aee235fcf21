"""Statistics of evaluations (pure): intervals for accuracies and paired tests between runs or arms."""
