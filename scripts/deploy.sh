#!/usr/bin/env bash
# `make deploy`: `sam build` (which builds each function with cargo-lambda, from the
# template's `BuildMethod: rust-cargolambda`) then `sam deploy --guided`, which asks
# for the parameters: GoogleClientId, MailFrom, SupportEmail, PublicApiUrl,
# AllowedOrigin, FalUserId, the SSM parameter names of the secrets (HashSecretParameter,
# FalKeyParameter, ReplicateApiTokenParameter, ReplicateWebhookSecretParameter,
# CreemApiKeyParameter, CreemWebhookSecretParameter), VideoModels, BillingProducts,
# CheckoutSuccessUrl. Needs the AWS SAM CLI and AWS
# credentials; the secrets must exist in Parameter Store first (README, Deploying).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v sam >/dev/null || { echo "the AWS SAM CLI is needed: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html" >&2; exit 1; }
export PATH="$(bash scripts/lambda-tools.sh):$PATH"
sam build --template-file infra/template.yaml --beta-features
sam deploy --guided --capabilities CAPABILITY_IAM
