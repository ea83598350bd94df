"""Deployment inputs for a stage: a compose file and Kubernetes manifests, pinned to digests.

No registry calls here: the caller says what the stage holds (pipeline.actions,
pipeline.cli.render) and `write_deploy_files` writes it.
"""
