"""Training pipeline for the delay model, and the one feature module shared with serving."""
