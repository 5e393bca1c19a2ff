"""One module per axis; each holds that axis's choices."""
