"""The event classifier: features of detected events, training on simulated nights, and the
skops-only loader that relabels the rules' kinds (issue 7)."""
