"""Files in and out: one serialization layer (``.npz`` + JSON metadata, written atomically, no
pickle) for every saved object, the dataset loaders, and the figures of a training report."""
