"""The lab's simulated Campaign binaries (stdlib only; copied into each lab directory and run from there)."""
