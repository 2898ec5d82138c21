"""Widgets the Classify page uses to turn results into training data and sorted folders:
a correct/wrong control, the *Sort into folders…* dialog, a results grid, a Retrain panel."""
