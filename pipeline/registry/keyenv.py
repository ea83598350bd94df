"""Where the signing keys come from when no flag names them: environment variable names,
apart from pipeline.registry.signing so that a command's --help loads no cryptography."""

SIGNING_KEY_ENV = "PIPELINE_SIGNING_KEY"
PUBLIC_KEY_ENV = "PIPELINE_ATTESTATION_PUBLIC_KEY"
