"""Infrastructure as code (AWS CDK): `npx aws-cdk@2 synth|deploy` from the repository root (see docs/deploy.md)."""
