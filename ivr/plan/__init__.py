"""The dial-plan language: loading, schema, checks and the immutable model."""
